import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A student (signed in with Clerk) or a staff member (signed in to the admin).

    Clerk users are created on first sight of their session token; ``clerk_id`` is the
    token's ``sub``. Staff created with ``createsuperuser`` have no Clerk id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clerk_id = models.CharField(
        "Clerk user id", max_length=255, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.email or self.username
