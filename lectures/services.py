"""Writes to lectures: download requests, recording uploads, retries, links and deletion."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import IO

from django.conf import settings
from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from accounts.models import User
from accounts.selectors import user_is_api_admin
from core.exceptions import DomainError, InvalidInput, ObjectNotFound, StateConflict
from core.jobs import move
from core.storage import storage_delete_on_commit, storage_delete_quietly, storage_save
from courses.selectors import course_is_enrolled
from lectures.fetch import BlockedSource, source_policy, validate_stream_url
from lectures.models import Lecture, LectureLink, upload_staging_key
from lectures.panopto import InvalidPanoptoUrl, extract_session_id

logger = logging.getLogger("studybuddy.lectures")

TASK = "lectures.tasks.process_lecture"
DELETED = "deleted"  # not a status: the last word of a lecture's log


class TooManyActiveDownloads(DomainError):
    """The user already has ``USER_ACTIVE_DOWNLOADS`` new lectures queued or running."""

    status_code = 429
    code = "too_many_active_downloads"
    default_detail = "Too many lecture downloads in progress."


@dataclass(frozen=True)
class DownloadRequest:
    lecture: Lecture
    queued: bool  # a job was queued by this request (new lecture, or a failed one again)


def lecture_request_download(
    *, user: User, course_id: uuid.UUID, panopto_url: str, stream_url: str, title: str = ""
) -> DownloadRequest:
    """Find or create the lecture of a Panopto session in a course, link the user to it,
    and queue its download when it is new or had failed.

    Concurrent identical requests create one lecture and queue one job: the unique
    (course, session) decides who creates, and the row lock decides who re-queues.
    """
    _check_enrolled(user=user, course_id=course_id)
    session_id = _session_id(panopto_url)
    try:
        validate_stream_url(stream_url, source_policy())
    except BlockedSource as exc:
        raise InvalidInput(str(exc), field="stream_url") from None

    with transaction.atomic():
        return _add_lecture(
            user=user,
            course_id=course_id,
            session_id=session_id,
            panopto_url=panopto_url,
            title=title,
            source={"source": Lecture.Source.URL, "stream_url": stream_url},
        )


def lecture_upload_recording(
    *, user: User, course_id: uuid.UUID, file: IO[bytes], title: str = "", panopto_url: str = ""
) -> DownloadRequest:
    """Add a lecture from a recording the caller uploaded, and queue its job, which reads
    the file from storage instead of downloading it.

    ``file`` (already streamed to disk within the size limit) is stored under a staging
    key first, outside any transaction: storing a large file under a row lock would hold
    other requests for the same session. With a ``panopto_url`` the session de-duplicates
    exactly as a download request does: an existing lecture links the caller (the staged
    file is deleted), a failed one is queued again with this file. The job deletes the
    staged file when it ends. Without a ``title``, the file's name (less its extension) is
    the title.
    """
    _check_enrolled(user=user, course_id=course_id)
    title = title or _title_from_filename(getattr(file, "name", "") or "")
    session_id = _session_id(panopto_url) if panopto_url else ""
    key = upload_staging_key()
    storage_save(key, file)
    try:
        with transaction.atomic():
            result = _add_lecture(
                user=user,
                course_id=course_id,
                session_id=session_id,
                panopto_url=panopto_url,
                title=title,
                source={
                    "source": Lecture.Source.UPLOAD,
                    "upload_storage_key": key,
                    "stream_url": "",
                },
            )
    except BaseException:
        storage_delete_quietly(key)
        raise
    if not result.queued:
        storage_delete_quietly(key)  # the lecture exists: this copy is not needed
    return result


def _title_from_filename(name: str) -> str:
    stem, dot, _ = name.rpartition(".")
    return (stem if dot and stem else name)[:255]


def _check_enrolled(*, user: User, course_id: uuid.UUID) -> None:
    if not course_is_enrolled(user=user, course_id=course_id):
        raise InvalidInput("You are not enrolled in this course.", field="course_id")


def _session_id(panopto_url: str) -> str:
    try:
        return extract_session_id(panopto_url)
    except InvalidPanoptoUrl as exc:
        raise InvalidInput(str(exc), field="panopto_url") from None


def _add_lecture(
    *,
    user: User,
    course_id: uuid.UUID,
    session_id: str,
    panopto_url: str,
    title: str,
    source: dict[str, str],
) -> DownloadRequest:
    """Find or create the lecture (one per course and session; a recording without a
    session is always new), link the user, and queue it when it is new or had failed, with
    ``source`` (the fields saying where its recording comes from). In a transaction."""
    defaults = {"panopto_url": panopto_url, "title": title, "created_by": user, **source}
    # Only a new lecture counts against the user's active downloads; joining one never does.
    check_cap = partial(_check_active_downloads, user)
    if session_id:
        lecture, created = _get_or_create_locked(
            course_id=course_id, session_id=session_id, defaults=defaults, before_create=check_cap
        )
    else:
        check_cap()
        lecture, created = Lecture.objects.create(course_id=course_id, **defaults), True
    LectureLink.objects.get_or_create(user=user, lecture=lecture)
    queued = created
    if not created and lecture.status == Lecture.Status.FAILED:
        # A fresh stream URL, or the recording itself, may be what the failed job lacked.
        if lecture.upload_storage_key and lecture.upload_storage_key != source.get(
            "upload_storage_key"
        ):
            storage_delete_on_commit(lecture.upload_storage_key)
        for name, value in {"upload_storage_key": "", **source}.items():
            setattr(lecture, name, value)
        lecture.title = lecture.title or title
        _requeue(lecture)
        queued = True
    elif not created and title and not lecture.title:
        lecture.title = title
        lecture.save(update_fields=["title", "updated_at"])
    if created:
        _enqueue_on_commit(lecture)
        Lecture.states.log(
            lecture.id, None, lecture.status, session=session_id or None, source=lecture.source
        )
    return DownloadRequest(lecture=lecture, queued=queued)


def _check_active_downloads(user: User) -> None:
    """Refuse a new lecture to a user who already created ``USER_ACTIVE_DOWNLOADS`` that are
    still queued or running. Counted under the user's row lock, so concurrent requests of
    one user cannot all pass; joining an existing lecture never comes here.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: the foreign-key checks of another request's
    link or lecture insert take ``KEY SHARE`` on the same row, and with a ``FOR UPDATE``
    lock held here while this request waits for that one's lecture row, the two deadlock.
    """
    User.objects.select_for_update(no_key=True).only("pk").get(pk=user.pk)
    active = Lecture.objects.filter(
        created_by=user, status__in=(Lecture.Status.QUEUED, *Lecture.RUNNING)
    ).count()
    if active >= settings.USER_ACTIVE_DOWNLOADS:
        raise TooManyActiveDownloads(
            f"You already have {active} lecture downloads in progress; try again when one "
            "has finished."
        )


def _get_or_create_locked(
    *,
    course_id: uuid.UUID,
    session_id: str,
    defaults: dict,
    before_create: Callable[[], None] = lambda: None,
) -> tuple[Lecture, bool]:
    existing = (
        Lecture.objects.select_for_update()
        .filter(course_id=course_id, panopto_session_id=session_id)
        .first()
    )
    if existing is not None:
        return existing, False
    before_create()
    try:
        with transaction.atomic():
            return (
                Lecture.objects.create(
                    course_id=course_id, panopto_session_id=session_id, **defaults
                ),
                True,
            )
    except IntegrityError:
        # Another request created it first (it waited for that commit): use theirs.
        return (
            Lecture.objects.select_for_update().get(
                course_id=course_id, panopto_session_id=session_id
            ),
            False,
        )


def _requeue(lecture: Lecture, *, enqueue: bool = True, fresh_attempts: bool = True) -> None:
    """Back to ``queued`` and (after commit) a job. A retry asked for by a person gets a
    fresh attempt budget; the reaper's keeps counting, so a recording that kills its worker
    every time still ends ``failed``."""
    move(lecture, Lecture.Status.QUEUED, {"attempt_count": 0} if fresh_attempts else {})
    if enqueue:
        _enqueue_on_commit(lecture)


def _enqueue_on_commit(lecture: Lecture) -> None:
    transaction.on_commit(partial(lecture_enqueue, lecture_id=str(lecture.id)))


def lecture_enqueue(*, lecture_id: str) -> bool:
    """Put the lecture's job on the task queue.

    A broker that refuses (Redis down, say) is logged, not raised: the lecture stays
    ``queued`` and the scheduled reaper queues it again (``lecture_requeue_lost``).
    """
    try:
        async_task(TASK, lecture_id, task_name=f"lecture {lecture_id}", group="lectures")
    except Exception:
        logger.exception("lecture=%s could not be queued; the reaper will try again", lecture_id)
        return False
    return True


def lecture_requeue_lost(*, lecture_id: uuid.UUID, queued_before: datetime) -> bool:
    """Queue the job of a lecture again if it has sat in ``queued`` since before
    ``queued_before`` (its job was lost: the broker refused it, or it crashed before
    claiming). A duplicate job is harmless: only one claims the lecture."""
    with transaction.atomic():
        locked = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
        if locked is None or locked.status != Lecture.Status.QUEUED:
            return False
        if locked.updated_at >= queued_before:
            return False
        locked.save(update_fields=["updated_at"])  # the clock restarts for the next look
        _enqueue_on_commit(locked)
        Lecture.states.log(locked.id, locked.status, locked.status, reason="job lost, queued again")
    return True


def lecture_retry(*, lecture: Lecture) -> Lecture:
    """Queue a ``failed`` lecture again; anything else is a conflict, and so is an uploaded
    recording that is no longer kept (its job deleted it when it ended)."""
    with transaction.atomic():
        locked = Lecture.objects.select_for_update().get(pk=lecture.pk)
        if locked.status != Lecture.Status.FAILED:
            raise StateConflict(
                f"Only a failed lecture can be retried; this one is {locked.status}."
            )
        if locked.source == Lecture.Source.UPLOAD and not locked.upload_storage_key:
            raise StateConflict("The uploaded recording is no longer kept: upload it again.")
        _requeue(locked)
    return locked


def lecture_requeue_failed(*, lecture_id: uuid.UUID, enqueue: bool = True) -> bool:
    """Queue the lecture again if it is (still) failed; ``False`` if it is not.

    ``enqueue=False`` only resets it to ``queued``, for a caller that runs the job itself.
    """
    with transaction.atomic():
        locked = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
        if locked is None or locked.status != Lecture.Status.FAILED:
            return False
        _requeue(locked, enqueue=enqueue)
    return True


def lecture_reap_stale(*, lecture_id: uuid.UUID, stale_before: datetime, requeue: bool) -> str:
    """Settle a lecture stuck in ``downloading``/``extracting`` whose worker went silent
    before ``stale_before``: ``failed``, or with ``requeue`` back to ``queued`` (unless its
    attempts are used up). Returns the new status, or ``""`` when it was not stale after
    all (it moved on, or its worker beat meanwhile)."""
    with transaction.atomic():
        locked = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
        if locked is None or locked.status not in Lecture.RUNNING:
            return ""
        last_sign_of_life = locked.heartbeat_at or locked.updated_at
        if last_sign_of_life >= stale_before:
            return ""
        if requeue and locked.attempt_count < settings.LECTURE_MAX_ATTEMPTS:
            _requeue(locked, fresh_attempts=False)
            return locked.status
        move(
            locked,
            Lecture.Status.FAILED,
            {"error_message": "the download stopped responding; retry it to start again"},
            reason="stale",
            attempts=locked.attempt_count,
        )
        return locked.status


def lecture_remove_for_user(*, user: User, lecture: Lecture) -> None:
    """The DELETE route: unlink the user; the last link takes the lecture (and its audio)
    with it. An API admin deletes the lecture whatever its links."""
    if user_is_api_admin(user):
        lecture_delete(lecture=lecture)
        return
    with transaction.atomic():
        # The lock orders concurrent unlinks, so exactly one of them sees the last link go.
        locked = Lecture.objects.select_for_update().filter(pk=lecture.pk).first()
        if locked is None:
            raise ObjectNotFound()
        deleted, _ = LectureLink.objects.filter(user=user, lecture=locked).delete()
        if not deleted:
            raise ObjectNotFound()
        if not LectureLink.objects.filter(lecture=locked).exists():
            lecture_id = locked.id  # delete() clears the primary key
            locked.delete()
            Lecture.states.log(lecture_id, locked.status, DELETED, reason="last link removed")


def lecture_delete_if_unlinked(*, lecture_id: uuid.UUID) -> bool:
    """Delete the lecture when no user is linked to it any more (a user was deleted, or a
    link removed in the admin); ``True`` if it went."""
    with transaction.atomic():
        # The same lock as a download request's, so a link being added meanwhile wins.
        locked = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
        if locked is None or LectureLink.objects.filter(lecture=locked).exists():
            return False
        locked.delete()
        Lecture.states.log(lecture_id, locked.status, DELETED, reason="no links left")
    return True


def lecture_delete(*, lecture: Lecture) -> None:
    """Delete the lecture, its links and (after commit) its audio."""
    lecture_id = lecture.id  # delete() clears the primary key
    lecture.delete()
    Lecture.states.log(lecture_id, lecture.status, DELETED)
