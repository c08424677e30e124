import threading

import factory

from lectures.jobs import lecture_process
from lectures.models import Lecture, LectureLink
from tests.factories import CourseFactory, UserFactory


class LectureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lecture

    course = factory.SubFactory(CourseFactory)
    panopto_session_id = factory.Faker("uuid4")
    panopto_url = factory.LazyAttribute(
        lambda lecture: (
            "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
            f"?id={lecture.panopto_session_id}"
        )
    )
    stream_url = "https://d2y36twrtb17ty.cloudfront.net/sessions/lecture.mp4?sig=secret"
    title = factory.Sequence(lambda n: f"Lecture {n}")


class LectureLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LectureLink

    user = factory.SubFactory(UserFactory)
    lecture = factory.SubFactory(LectureFactory)


def processed_lecture(stream_url: str) -> Lecture:
    """A lecture of ``stream_url`` after its audio job ran here, with the job's ``outcome``."""
    lecture = LectureFactory(stream_url=stream_url)
    outcome = lecture_process(lecture_id=lecture.id)
    lecture.refresh_from_db()
    lecture.outcome = outcome
    return lecture


def fetching_threads() -> set[int | None]:
    """The threads that fetch a recording while it is read (``StreamedRecording``'s)."""
    return {t.ident for t in threading.enumerate() if t.name == "recording-stream"}
