from core.routers import OptionalSlashRouter
from courses.api import CourseViewSet

router = OptionalSlashRouter()
router.register("courses", CourseViewSet, basename="course")

urlpatterns = router.urls
