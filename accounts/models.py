import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models

# The longest Clerk ``sub`` a token may carry: the column, and the check in ``tokens``.
CLERK_ID_MAX_LENGTH = 255


class User(AbstractUser):
    """A student (signed in with Clerk) or a staff member (signed in to the admin).

    Clerk users are created on first sight of their session token; ``clerk_id`` is the
    token's ``sub``. Staff created with ``createsuperuser`` have no Clerk id.

    A Clerk user's ``username`` is their UUID primary key: unique by construction and
    within the column's 150 characters, where a Clerk id may be longer, so two different
    Clerk ids can never meet on one username. The admin shows the Clerk id and e-mail
    beside it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clerk_id = models.CharField(
        "Clerk user id",
        max_length=CLERK_ID_MAX_LENGTH,
        unique=True,
        null=True,
        blank=True,
        editable=False,
    )

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.email or self.username
