from assistant.api import ConversationViewSet
from core.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = router.urls
