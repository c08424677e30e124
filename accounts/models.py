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
    # Clerk's ``updated_at`` (milliseconds) of the last webhook event applied: an older
    # event, delivered late, changes nothing.
    clerk_updated_at = models.BigIntegerField(
        "Clerk profile version", null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.email or self.username


class DeletedClerkUser(models.Model):
    """A Clerk user deleted in Clerk: their data is gone, and a session token they still
    hold must not bring them back. Only the Clerk id is kept."""

    clerk_id = models.CharField("Clerk user id", max_length=255, unique=True)
    # The event's time (milliseconds): a late ``user.created``/``user.updated`` from before
    # the deletion is ignored; one from after it (an id Clerk gave again) clears this row.
    deleted_at_ms = models.BigIntegerField("deleted in Clerk at (ms)")
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = "deleted Clerk user"

    def __str__(self) -> str:
        return self.clerk_id


class WebhookDelivery(models.Model):
    """One Clerk webhook delivery processed (or ignored), by its ``svix-id``: a replay or a
    retry of it answers 200 without acting twice. Kept for ``CLERK_WEBHOOK_RETENTION_DAYS``."""

    svix_id = models.CharField("delivery id (svix-id)", max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    clerk_id = models.CharField("Clerk user id", max_length=255, blank=True)
    outcome = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.svix_id}"
