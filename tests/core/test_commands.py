"""``manage.py purge_orphans``, run as an operator would, and every operator's command
answers ``--help``."""

from __future__ import annotations

import io
import os
import time
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from lectures.models import Lecture
from tests.factories import CourseFactory, UserFactory
from tests.lectures.factories import LectureFactory

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def age(key: str, minutes: int) -> None:
    """Make a stored file look ``minutes`` old (local storage)."""
    then = time.time() - minutes * 60
    os.utime(default_storage.path(key), (then, then))


# --- purge_orphans ---------------------------------------------------------------------


@pytest.fixture
def stored_files():
    from documents.models import Document

    owner = UserFactory()
    course = CourseFactory()
    document_id = uuid.uuid4()
    kept_doc = default_storage.save(f"documents/{document_id}.pdf", ContentFile(b"%PDF-1.4 x"))
    Document.objects.create(
        id=document_id,
        owner=owner,
        course=course,
        original_filename="a.pdf",
        size_bytes=10,
        sha256="0" * 64,
        storage_key=kept_doc,
    )
    lecture = LectureFactory(status="completed")
    kept_audio = default_storage.save(f"audio/{lecture.id}.m4a", ContentFile(b"audio"))
    Lecture.objects.filter(pk=lecture.pk).update(audio_storage_key=kept_audio)
    orphan = default_storage.save(f"documents/{uuid.uuid4()}.pdf", ContentFile(b"%PDF-1.4 y"))
    orphan_audio = default_storage.save(f"audio/{uuid.uuid4()}.m4a", ContentFile(b"old"))
    for key in (kept_doc, kept_audio, orphan, orphan_audio):
        age(key, 60)
    return {"kept": [kept_doc, kept_audio], "orphans": [orphan, orphan_audio]}


def test_purge_orphans_deletes_unreferenced_files_and_keeps_referenced_ones(stored_files):
    out, _ = run("purge_orphans")

    for key in stored_files["orphans"]:
        assert not default_storage.exists(key)
        assert f"orphan {key}: deleted" in out
    for key in stored_files["kept"]:
        assert default_storage.exists(key)
    assert "2 orphan file(s) (deleted 2)" in out


def test_purge_orphans_dry_run_deletes_nothing(stored_files):
    out, _ = run("purge_orphans", "--dry-run")

    assert out.count(": would delete") == 2
    for key in stored_files["orphans"] + stored_files["kept"]:
        assert default_storage.exists(key)


def test_purge_orphans_keeps_a_fresh_unreferenced_file(stored_files):
    fresh = default_storage.save(f"documents/{uuid.uuid4()}.pdf", ContentFile(b"%PDF- upload"))

    out, _ = run("purge_orphans")

    assert default_storage.exists(fresh)
    assert f"unreferenced {fresh}: kept" in out


def test_purge_orphans_reports_a_row_whose_file_was_removed(stored_files):
    removed = stored_files["kept"][0]
    default_storage.delete(removed)

    out, _ = run("purge_orphans")

    assert f"missing file: document {removed.split('/')[1].removesuffix('.pdf')}" in out
    assert "1 row(s) with a missing file" in out


def test_purge_orphans_finds_nothing_in_a_clean_store(stored_files):
    for key in stored_files["orphans"]:
        default_storage.delete(key)

    out, _ = run("purge_orphans", "--dry-run")

    assert "0 orphan file(s)" in out and "0 row(s) with a missing file" in out


def test_purge_orphans_refuses_a_negative_age():
    with pytest.raises(CommandError):
        run("purge_orphans", "--min-age", "-1")


@pytest.mark.parametrize(
    "command",
    [
        "import_courses",
        "retry_failed_downloads",
        "reap_stale_downloads",
        "purge_orphans",
        "dev_token",
    ],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command(command, "--help")

    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
