from core.routers import OptionalSlashRouter
from lectures.api import DevLectureViewSet, LectureViewSet

router = OptionalSlashRouter()
router.register("lectures", LectureViewSet, basename="lecture")
router.register("dev/lectures", DevLectureViewSet, basename="dev-lecture")

urlpatterns = router.urls
