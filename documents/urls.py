from core.routers import OptionalSlashRouter
from documents.api import DocumentViewSet

router = OptionalSlashRouter()
router.register("documents", DocumentViewSet, basename="document")

urlpatterns = router.urls
