#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.local")
    from studybuddy.startup import check_or_exit, load_settings_or_exit

    if sys.argv[1:2] == ["qcluster"]:
        # The worker stops on a configuration error with one line, as the web process does;
        # other commands report the system checks Django's way (``check`` lists them all).
        check_or_exit()
    else:
        load_settings_or_exit()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
