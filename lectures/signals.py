"""Stored files (audio, a staged upload) follow their lecture, and a lecture follows its
last link; ``audio_completed`` tells other apps that a lecture's audio is ready."""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

from core.storage import storage_delete_on_commit
from lectures.models import Lecture, LectureLink, audio_storage_key
from lectures.services import lecture_delete_if_unlinked

# Sent by the audio job once the lecture is ``completed`` (committed), with ``lecture_id``.
audio_completed = Signal()


@receiver(post_delete, sender=Lecture, dispatch_uid="lectures.delete_audio")
def delete_audio(sender, instance: Lecture, **kwargs) -> None:
    # Fires for every way a lecture goes: the API, the admin, a course deleted by staff.
    storage_delete_on_commit(instance.audio_storage_key or audio_storage_key(instance.id))
    if instance.upload_storage_key:
        storage_delete_on_commit(instance.upload_storage_key)


@receiver(post_delete, sender=LectureLink, dispatch_uid="lectures.delete_unlinked_lecture")
def delete_unlinked_lecture(sender, instance: LectureLink, **kwargs) -> None:
    # A link can go without the API's unlink (a user deleted, a link removed in the admin):
    # the lecture must not outlive its last link.
    transaction.on_commit(
        partial(lecture_delete_if_unlinked, lecture_id=instance.lecture_id), robust=True
    )
