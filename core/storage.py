"""Stored files by key, through Django's storage API only (local disk or S3 alike).

Documents and lecture audio keep a storage *key* (``documents/<uuid>.pdf``), never a path:
every read, write and delete goes through these helpers, so both backends behave the same.
Storage failures surface as ``StorageUnavailable`` (503), never as a backend's own error.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import IO

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction

from core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class StorageUnavailable(ServiceUnavailable):
    default_detail = "File storage is unavailable; try again later."


def get_storage() -> Storage:
    """The storage of uploaded and generated files (``STORAGES["default"]``)."""
    return storages["default"]


def _is_s3(storage: Storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # django-storages without boto3
        return False
    return isinstance(storage, S3Storage)


def storage_save(key: str, content: IO[bytes]) -> None:
    """Write ``content`` under exactly ``key``; ``StorageUnavailable`` when that fails.

    Keys are fresh (they carry a new UUID), so a storage that would pick another name is a
    bug, not a collision to work around.
    """
    storage = get_storage()
    file = content if isinstance(content, File) else File(content, name=posixpath.basename(key))
    try:
        saved = storage.save(key, file)
    except Exception as exc:  # any backend error (OSError, botocore) means "not stored"
        logger.error("storage write of %s failed: %s", key, exc)
        storage_delete_quietly(key)  # a partial write (local disk full) must not remain
        raise StorageUnavailable() from exc
    if saved != key:
        storage_delete_quietly(saved)
        raise StorageUnavailable(f"Storage stored {key!r} as {saved!r}.")


class _FinishedFile(File):
    """A complete file on local disk that its owner gives away: ``FileSystemStorage``
    moves it into place (a rename on the same file system) instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.file.name


def storage_save_local_file(key: str, path: str | os.PathLike[str]) -> None:
    """``storage_save`` for a file the caller no longer needs: on local storage it is
    moved, not copied, so ``path`` is gone afterwards; on S3 it is uploaded."""
    with open(path, "rb") as handle:
        storage_save(key, _FinishedFile(handle, name=posixpath.basename(key)))


def storage_delete(key: str) -> None:
    """Remove ``key``; a missing file is not an error."""
    get_storage().delete(key)


def storage_delete_quietly(key: str) -> bool:
    """Remove ``key``, logging (not raising) a failure; ``purge_orphans`` finds leftovers."""
    try:
        storage_delete(key)
    except Exception as exc:
        logger.error("storage delete of %s failed: %s", key, exc)
        return False
    return True


def storage_delete_on_commit(key: str) -> None:
    """Remove ``key`` once the current transaction commits (at once outside one).

    A row deleted in a transaction that rolls back keeps its file.
    """
    transaction.on_commit(partial(storage_delete_quietly, key), robust=True)


def storage_exists(key: str) -> bool:
    return get_storage().exists(key)


def storage_walk(prefix: str = "") -> Iterator[str]:
    """Every key under ``prefix`` (recursively), for audits and orphan purges."""
    storage = get_storage()
    try:
        directories, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield posixpath.join(prefix, name) if prefix else name
    for directory in directories:
        yield from storage_walk(posixpath.join(prefix, directory) if prefix else directory)


@dataclass(frozen=True)
class StoredFile:
    """A stored file as a download route serves it; ``etag`` is the quoted entity tag,
    which changes when the bytes do."""

    key: str
    size: int
    etag: str
    filename: str
    content_type: str


class StoredChunks:
    """An open stored file (or byte range of it), iterated in chunks; close() releases it.

    Opening happens at construction, so a missing file raises ``FileNotFoundError`` before
    a response has started. On S3 a ranged GET streams the bytes; django-storages' own
    ``S3File`` would first copy the whole object into memory.
    """

    def __init__(self, key: str, *, start: int = 0, length: int | None = None) -> None:
        self._remaining = length
        storage = get_storage()
        if _is_s3(storage):
            self._handle = _s3_open_range(storage, key, start, length)
        else:
            self._handle = storage.open(key, "rb")
            if start:
                self._handle.seek(start)

    def __iter__(self) -> Iterator[bytes]:
        while self._remaining is None or self._remaining > 0:
            size = CHUNK_SIZE if self._remaining is None else min(CHUNK_SIZE, self._remaining)
            chunk = self._handle.read(size)
            if not chunk:
                break
            if self._remaining is not None:
                self._remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._handle.close()


def _s3_open_range(storage, key: str, start: int, length: int | None):
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    params = {"Bucket": storage.bucket_name, "Key": storage._normalize_name(clean_name(key))}
    if start or length is not None:
        end = "" if length is None else str(start + length - 1)
        params["Range"] = f"bytes={start}-{end}"
    try:
        return storage.connection.meta.client.get_object(**params)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise FileNotFoundError(key) from exc
        raise
