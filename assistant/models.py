"""Conversations with the study assistant, their messages, and the tokens spent per day.

A conversation belongs to its owner and goes with them (the foreign key cascades, so
``accounts.services.user_delete`` removes it). Each question is a ``Message`` of role
``question``; each answer one of role ``answer``, ``streaming`` while it is written, then
``completed`` or ``failed``. ``DailyUsage`` counts tokens per account and UTC day apart
from the messages, so deleting a conversation (or the account, for the same Clerk user)
does not give the day's quota back.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    course = models.ForeignKey(
        "courses.Course", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="conversation_recent")]
        permissions = [
            (
                "view_conversation_content",
                "Can read students' conversations with the assistant (questions and answers)",
            )
        ]

    def __str__(self) -> str:
        return self.title or f"conversation {self.id}"


class Role(models.TextChoices):
    QUESTION = "question"
    ANSWER = "answer"


class MessageStatus(models.TextChoices):
    STREAMING = "streaming"
    COMPLETED = "completed"
    FAILED = "failed"


class Message(models.Model):
    Role = Role
    Status = MessageStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.COMPLETED
    )
    # The ``data-source`` objects given to the model, and those the stored text cites.
    sources = models.JSONField(default=list, blank=True)
    citations = models.JSONField(default=list, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True)
    truncated = models.BooleanField(default=False)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_in_order"),
            models.Index(
                fields=["updated_at"],
                condition=models.Q(status="streaming"),
                name="message_streaming",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="message_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=MessageStatus.values), name="message_status_valid"
            ),
            # A question is never streamed and never costs tokens.
            models.CheckConstraint(
                condition=~models.Q(role="question")
                | models.Q(status="completed", total_tokens__isnull=True),
                name="question_completed_without_usage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.id}"


class DailyUsage(models.Model):
    """Tokens (prompt + completion) one account spent on one UTC day."""

    id = models.BigAutoField(primary_key=True)
    # The Clerk id (the user's id when they have none): the quota outlives the row, as
    # the rate limits do.
    account = models.CharField(max_length=255)
    # For the admin's column; null once the user row is gone.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assistant_usage",
    )
    day = models.DateField()
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="daily_usage_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.day}: {self.total_tokens}"
