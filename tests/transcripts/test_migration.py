"""The transcript's models move from ``lectures`` to ``transcripts``: a database that holds
transcripts under the old app's tables migrates with every row kept."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.lectures.factories import LectureFactory
from transcripts.models import Transcript, TranscriptChunk, TranscriptSegment

BEFORE = [("lectures", "0005_transcript_search"), ("transcripts", None)]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.fixture
def before_the_move():
    """The schema as it was with the models in ``lectures``; the latest schema after."""
    executor = migrate(BEFORE)
    yield executor.loader.project_state([BEFORE[0]]).apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_a_database_with_transcripts_keeps_every_row(before_the_move):
    old = before_the_move
    lecture = LectureFactory(status="completed")
    old.get_model("lectures", "Transcript").objects.create(
        lecture_id=lecture.pk, status="completed", source="captions", segment_count=2
    )
    segments = old.get_model("lectures", "TranscriptSegment")
    segments.objects.create(lecture_id=lecture.pk, index=0, start=0.0, end=1.5, text="Hello.")
    segments.objects.create(lecture_id=lecture.pk, index=1, start=1.5, end=3.0, text="Bye.")
    old.get_model("lectures", "TranscriptChunk").objects.create(
        lecture_id=lecture.pk, index=0, plan="p", offset_seconds=0, duration_seconds=3, answer={}
    )
    old_type = ContentType.objects.get_or_create(app_label="lectures", model="transcript")[0]

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    transcript = Transcript.objects.get(lecture_id=lecture.pk)
    assert (transcript.status, transcript.source, transcript.segment_count) == (
        "completed",
        "captions",
        2,
    )
    assert list(
        TranscriptSegment.objects.filter(lecture_id=lecture.pk).values_list("index", "text")
    ) == [(0, "Hello."), (1, "Bye.")]
    assert TranscriptChunk.objects.filter(lecture_id=lecture.pk).count() == 1
    assert Transcript._meta.db_table == "transcripts_transcript"
    assert ContentType.objects.get(pk=old_type.pk).app_label == "transcripts"
    # A new segment still gets an id of its own after the rename.
    TranscriptSegment.objects.create(lecture_id=lecture.pk, index=2, start=3, end=4, text="x")
