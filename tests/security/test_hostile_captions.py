"""Captions bodies of 5 MiB built to cost the most, sent at once to the Procfile's web
process (nginx in front of gunicorn): each is answered, and ``/healthz`` keeps answering
while they are parsed."""

from __future__ import annotations

import concurrent.futures

import httpx

from tests.auth import session_claims, sign
from tests.factories import UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.security import test_slow_clients as slow_clients
from transcripts.models import Transcript, TranscriptSegment

pytestmark = slow_clients.pytestmark
web = slow_clients.web

FIVE_MIB = 5 * 1024 * 1024
CUE = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n"


def _tiny_cues() -> bytes:
    cue = b"00:00:01.000 --> 00:00:02.000\nw\n\n"
    return (b"WEBVTT\n\n" + cue * (FIVE_MIB // len(cue)))[:FIVE_MIB]


BODIES = {
    # (body, the answer): a cue of one character repeated was parsed in time growing with
    # the square of its length (hours for 5 MiB); 200 000 tiny cues were written one lock.
    "one cue of '<'": (CUE + b"<" * (FIVE_MIB - len(CUE)), 200),
    "one cue of '{\\'": (CUE + b"{\\" * ((FIVE_MIB - len(CUE)) // 2), 200),
    "tiny cues": (_tiny_cues(), 400),
    "an hour field of 5 MiB": (b"WEBVTT\n\n" + b"1" * (FIVE_MIB - 60) + b":00:01.000 --> x\n", 400),
}


def test_hostile_captions_are_answered_and_healthz_answers_meanwhile(web, clerk_key):
    user = UserFactory(clerk_id="user_hostile")
    lectures = {}
    for name in BODIES:
        lectures[name] = LectureFactory(status="completed")
        LectureLinkFactory(user=user, lecture=lectures[name])
    headers = {
        "Authorization": f"Bearer {sign(session_claims('user_hostile'), clerk_key)}",
        "Content-Type": "text/vtt",
    }

    def put(name: str) -> int:
        body, _ = BODIES[name]
        url = f"{web}/api/lectures/{lectures[name].id}/transcript"
        # A deadline, not a measure: a parse that does not end fails here.
        return httpx.put(url, content=body, headers=headers, timeout=120).status_code

    health: list[int] = []
    with concurrent.futures.ThreadPoolExecutor(len(BODIES)) as pool:
        answers = {name: pool.submit(put, name) for name in BODIES}
        with httpx.Client(base_url=web, timeout=30) as client:
            while not all(answer.done() for answer in answers.values()):
                health.append(client.get("/healthz").status_code)

    assert {name: answer.result() for name, answer in answers.items()} == {
        name: expected for name, (_, expected) in BODIES.items()
    }
    assert health and set(health) == {200}
    kept = TranscriptSegment.objects.get(lecture=lectures["one cue of '<'"])
    assert kept.text == "<" * (FIVE_MIB - len(CUE))
    for name in ("tiny cues", "an hour field of 5 MiB"):
        assert not Transcript.objects.filter(lecture=lectures[name]).exists()
