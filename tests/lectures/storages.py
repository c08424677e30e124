"""Storage backends that fail the way real ones do, for fault-injection tests."""

import errno
import os

from django.core.files.storage import FileSystemStorage


class FullDiskStorage(FileSystemStorage):
    """Writes part of the file, then fails as a full disk would."""

    def _save(self, name, content):
        full_path = self.path(name)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        with open(full_path, "wb") as handle:
            handle.write(content.read(1024))
        raise OSError(errno.ENOSPC, "No space left on device")
