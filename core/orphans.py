"""Finding stored files that no row references, and rows whose file is gone.

Each app that keeps files in storage registers a :class:`StorageKeyOwner` in its
``AppConfig.ready``: the prefix its keys live under and the keys its rows point at. The
audit walks those prefixes and asks the owners, so this module knows no app's models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from core.storage import get_storage, storage_walk


@dataclass(frozen=True)
class StorageKeyOwner:
    """One app's files: ``prefix()`` (read when audited, so settings may change) and
    ``referenced()`` yielding ``(key, row label)`` for every key a row points at;
    ``in_flight()`` names keys a running job is about to point a row at."""

    name: str
    prefix: Callable[[], str]
    referenced: Callable[[], Iterable[tuple[str, str]]]
    in_flight: Callable[[], Iterable[str]] = lambda: ()


_owners: dict[str, StorageKeyOwner] = {}


def register_storage_keys(owner: StorageKeyOwner) -> None:
    """Make ``owner``'s files part of every audit (idempotent by name)."""
    _owners[owner.name] = owner


def storage_key_owners() -> list[StorageKeyOwner]:
    return list(_owners.values())


@dataclass
class StorageAudit:
    orphans: list[str] = field(default_factory=list)  # old enough to delete
    too_new: list[str] = field(default_factory=list)  # unreferenced, but maybe mid-write
    missing: list[tuple[str, str]] = field(default_factory=list)  # (row label, key)


def storage_audit(*, min_age: timedelta) -> StorageAudit:
    """Compare the files under every registered prefix with the rows.

    Unreferenced files younger than ``min_age`` are set apart: an upload writes its file a
    moment before its row.
    """
    storage = get_storage()
    owners = storage_key_owners()
    referenced: dict[str, str] = {}
    in_flight: set[str] = set()
    for owner in owners:
        referenced.update((key, label) for key, label in owner.referenced())
        in_flight.update(owner.in_flight())
    stored: set[str] = set()
    audit = StorageAudit()
    cutoff: datetime = timezone.now() - min_age
    for prefix in dict.fromkeys(owner.prefix() for owner in owners):
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
