from core.routers import OptionalSlashRouter
from search.api import SearchViewSet

router = OptionalSlashRouter()
router.register("search", SearchViewSet, basename="search")

urlpatterns = router.urls
