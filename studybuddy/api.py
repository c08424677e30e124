"""The API router: every viewset under ``/api/``, with or without a trailing slash."""

from rest_framework.routers import SimpleRouter

from courses.api import CourseViewSet
from documents.api import DocumentViewSet
from lectures.api import DevLectureViewSet, LectureViewSet


class OptionalSlashRouter(SimpleRouter):
    """``/api/courses`` and ``/api/courses/`` both route, with no redirect (POST-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("courses", CourseViewSet, basename="course")
router.register("lectures", LectureViewSet, basename="lecture")
router.register("dev/lectures", DevLectureViewSet, basename="dev-lecture")
router.register("documents", DocumentViewSet, basename="document")

urlpatterns = router.urls
