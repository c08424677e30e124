"""Material searched by meaning in the tests: lectures whose captions are PUT through the
API and documents whose text the real job extracts (their passages built as in
production), and the passages' vectors written here with the stub provider's model, as the
embedding job writes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from search.models import Passage
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.search.embedding_stub import DIMENSIONS, lexicon_vector
from tests.search.test_lecture_source import captions

# ``embeddings_on``'s model and size, as ``Passage.embedding_model`` names them.
SPACE = f"lexicon-test/{DIMENSIONS}"
ROOT = Path(__file__).resolve().parent.parent.parent


def search(client, q: str, **params) -> dict:
    response = client.get("/api/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def put_captions(client, lecture, *lines: str) -> None:
    """Captions of one second per line, through ``PUT /api/lectures/{id}/transcript``."""
    response = client.put(
        f"/api/lectures/{lecture.id}/transcript", captions(*lines), content_type="text/vtt"
    )
    assert response.status_code == 200, response.content


def captioned_lecture(client, user, *lines: str, course, title: str = ""):
    """A completed lecture of ``course`` linked to ``user`` (whose client ``client`` is),
    with ``lines`` as its captions."""
    lecture = LectureFactory(course=course, status="completed", title=title)
    LectureLinkFactory(user=user, lecture=lecture)
    put_captions(client, lecture, *lines)
    return lecture


def embed_passages() -> int:
    """Give every passage without a vector the stub model's vector of its text; how many."""
    passages = list(Passage.objects.filter(embedding_model=""))
    for passage in passages:
        passage.embedding = lexicon_vector(passage.text)
        passage.embedding_model = SPACE
    Passage.objects.bulk_update(passages, ["embedding", "embedding_model"])
    return len(passages)


def run_on_sqlite(script: str, tmp_path: Path) -> object:
    """Run ``script`` in a child process on a fresh embedded SQLite database (the settings
    of ``make run``) and return the JSON its last line prints."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "studybuddy.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY": "sqlite-search-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
