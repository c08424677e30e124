from core.routers import OptionalSlashRouter
from transcripts.api import TranscriptViewSet

router = OptionalSlashRouter()
# Under the lecture it belongs to: /api/lectures/{id}/transcript.
router.register("lectures", TranscriptViewSet, basename="lecture")

urlpatterns = router.urls
