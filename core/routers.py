"""The router every app's ``urls.py`` uses for its viewsets under ``/api/``."""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """``/api/courses`` and ``/api/courses/`` both route, with no redirect (POST-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
