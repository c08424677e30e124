import factory

from accounts.models import User
from courses.models import Course, Enrollment


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    clerk_id = factory.Sequence(lambda n: f"user_test{n:04d}")
    username = factory.SelfAttribute("clerk_id")
    email = factory.LazyAttribute(lambda user: f"{user.clerk_id}@example.com")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"CSC {100 + n}")
    title = factory.Sequence(lambda n: f"Course number {n}")
    instructor = "Dr. Ada Lovelace"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
