"""The transcript follows the audio: a lecture whose audio completes is queued for
transcription (with a backend configured)."""

from django.dispatch import receiver

from lectures.signals import audio_completed
from transcripts.services import transcript_queue_after_audio


@receiver(audio_completed, dispatch_uid="transcripts.queue_after_audio")
def queue_after_audio(sender, lecture_id, **kwargs) -> None:
    transcript_queue_after_audio(lecture_id=lecture_id)
