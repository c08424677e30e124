"""Finding stored files that no row references, and rows whose file is gone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from documents.models import Document
from lectures.models import Lecture
from lectures.services import audio_storage_key
from studybuddy.storage import get_storage, storage_walk


@dataclass
class StorageAudit:
    orphans: list[str] = field(default_factory=list)  # old enough to delete
    too_new: list[str] = field(default_factory=list)  # unreferenced, but maybe mid-write
    missing: list[tuple[str, str]] = field(default_factory=list)  # (row label, key)


def _referenced_keys() -> dict[str, str]:
    """Every key a row points at, with a label naming the row."""
    keys = {
        key: f"document {pk}"
        for pk, key in Document.objects.values_list("pk", "storage_key").iterator()
    }
    completed = Lecture.objects.exclude(audio_storage_key="").values_list("pk", "audio_storage_key")
    keys.update({key: f"lecture {pk}" for pk, key in completed.iterator()})
    return keys


def _in_flight_audio_keys() -> set[str]:
    # A running job stores its audio a moment before the row points at it.
    running = Lecture.objects.filter(status__in=Lecture.RUNNING).values_list("pk", flat=True)
    return {audio_storage_key(pk) for pk in running.iterator()}


def storage_audit(*, min_age: timedelta) -> StorageAudit:
    """Compare the files under the documents and audio prefixes with the rows.

    Unreferenced files younger than ``min_age`` are set apart: an upload writes its file a
    moment before its row.
    """
    storage = get_storage()
    referenced = _referenced_keys()
    in_flight = _in_flight_audio_keys()
    stored: set[str] = set()
    audit = StorageAudit()
    cutoff: datetime = timezone.now() - min_age
    for prefix in (settings.DOCUMENTS_STORAGE_PREFIX, settings.AUDIO_STORAGE_PREFIX):
        for key in storage_walk(prefix):
            stored.add(key)
            if key in referenced or key in in_flight:
                continue
            if storage.get_modified_time(key) > cutoff:
                audit.too_new.append(key)
            else:
                audit.orphans.append(key)
    audit.missing = sorted((label, key) for key, label in referenced.items() if key not in stored)
    return audit
