"""Conversations and the answering of a question: stored, retrieved, asked, recorded.

``message_ask`` does everything that may refuse the request (the backend, the
conversation, the scope, the quota) and stores the question and the answer's row
(``streaming``) before anything is streamed; ``answer_events`` then yields the answer's
events (``assistant.events``) as the provider writes it and records how it ended, whether
it completed, failed, was cut at a limit, or the client went away (the generator closed).
An answer row left ``streaming`` by a process that died is ended by
``answers_end_stale``, which every read of a conversation runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from assistant import events
from assistant.models import Conversation, DailyUsage, Message
from assistant.prompt import NOTHING_FOUND, Turn, build_messages, estimate_tokens
from assistant.provider import ChatClient
from assistant.retrieval import Retrieved, Scope, retrieve, scope_check
from assistant.selectors import account_of, conversation_get, tokens_today, utc_today
from core import metrics
from core.exceptions import InvalidInput, QuotaExceeded, StateConflict
from core.providers import ProviderError, StreamCut, redact
from courses.models import Enrollment

logger = logging.getLogger("studybuddy.assistant")

HISTORY_TURNS = 20
_MARKER = re.compile(r"\[(\d{1,4})\]")
INTERRUPTED = "the answer was interrupted"


class AssistantDisabled(StateConflict):
    code = "assistant_disabled"
    default_detail = "The study assistant is not configured here (ASSISTANT_BACKEND=none)."


def assistant_check_enabled() -> None:
    if settings.ASSISTANT_BACKEND == "none":
        raise AssistantDisabled


def _course_check(*, user: User, course_id: uuid.UUID | None) -> None:
    if (
        course_id is not None
        and not Enrollment.objects.filter(user=user, course_id=course_id).exists()
    ):
        raise InvalidInput("Not a course in your list.", field="course_id")


def conversation_create(
    *, user: User, title: str = "", course_id: uuid.UUID | None = None
) -> Conversation:
    """A new conversation of the caller's, about one of their courses or all of them."""
    assistant_check_enabled()
    _course_check(user=user, course_id=course_id)
    return Conversation.objects.create(owner=user, title=title, course_id=course_id)


def conversation_rename(*, user: User, conversation_id: uuid.UUID, title: str) -> Conversation:
    conversation = conversation_get(user=user, conversation_id=conversation_id)
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, user: User, conversation_id: uuid.UUID) -> None:
    """The conversation and its messages (the day's tokens stay spent)."""
    conversation_get(user=user, conversation_id=conversation_id).delete()


def answers_end_stale(*, conversation: Conversation | None = None) -> int:
    """Answers ``streaming`` for longer than ``ASSISTANT_TIMEOUT_SECONDS`` (their process
    ended mid-answer) marked failed; how many."""
    limit = timezone.now() - dt.timedelta(seconds=settings.ASSISTANT_TIMEOUT_SECONDS + 5)
    stale = Message.objects.filter(status=Message.Status.STREAMING, updated_at__lt=limit)
    if conversation is not None:
        stale = stale.filter(conversation=conversation)
    return stale.update(status=Message.Status.FAILED, error=INTERRUPTED, updated_at=timezone.now())


@dataclass
class Answering:
    """A question stored and its answer's row, ready to stream."""

    user: User
    answer: Message
    retrieved: Retrieved
    prompt: list[dict[str, str]]
    started: float = field(default_factory=time.monotonic)


@transaction.atomic
def message_ask(*, user: User, conversation_id: uuid.UUID, content: str, scope: Scope) -> Answering:
    """Store the question and the answer's row (``streaming``), with its sources; refused
    first when the assistant is off (409), the conversation or a scope id is not the
    caller's (404) or the day's tokens are spent (403)."""
    assistant_check_enabled()
    conversation = conversation_get(user=user, conversation_id=conversation_id)
    scope_check(user=user, scope=scope)
    if tokens_today(user=user) >= settings.USER_ASSISTANT_DAILY_TOKENS:
        raise QuotaExceeded(
            "Today's assistant tokens are spent (USER_ASSISTANT_DAILY_TOKENS); "
            "they renew at midnight UTC."
        )
    if scope.course_id is None:
        scope = Scope(
            course_id=conversation.course_id,
            lecture_ids=scope.lecture_ids,
            document_ids=scope.document_ids,
        )
    earlier = list(
        conversation.messages.filter(status=Message.Status.COMPLETED)
        .order_by("-created_at", "-id")
        .values_list("role", "content")[:HISTORY_TURNS]
    )[::-1]
    previous = [text for role, text in earlier if role == Message.Role.QUESTION][-1:]
    retrieved = retrieve(user=user, question=content, previous=previous, scope=scope)
    Message.objects.create(conversation=conversation, role=Message.Role.QUESTION, content=content)
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ANSWER,
        status=Message.Status.STREAMING,
        sources=retrieved.sources,
    )
    if not conversation.title:
        conversation.title = content[:80]
    conversation.save(update_fields=["title", "updated_at"])
    prompt = build_messages(
        question=content,
        sources=retrieved.sources,
        quotes=retrieved.quotes,
        history=[Turn(role=role, content=text) for role, text in earlier],
        budget_tokens=settings.ASSISTANT_CONTEXT_TOKENS,
    )
    return Answering(user=user, answer=answer, retrieved=retrieved, prompt=prompt)


def answer_events(answering: Answering) -> Iterator[dict]:
    """The answer's events as it is written, its row recorded however it ends."""
    answer = answering.answer
    yield events.start(answer.id)
    for source in answering.retrieved.sources:
        yield events.source(source)
    yield events.text_start(answer.id)
    parts: list[str] = []
    usage: dict[str, int] | None = None
    ended = False
    try:
        if not answering.retrieved.sources:
            parts.append(NOTHING_FOUND)
            yield events.text_delta(answer.id, NOTHING_FOUND)
            _record(answering, text=NOTHING_FOUND, usage=None, counted=False)
        else:
            truncated = False
            with ChatClient() as client:
                try:
                    for piece in client.answer(answering.prompt):
                        usage = piece.usage or usage
                        truncated = truncated or piece.finish_reason == "length"
                        if piece.text:
                            parts.append(piece.text)
                            yield events.text_delta(answer.id, piece.text)
                except StreamCut:
                    truncated = True
            _record(answering, text="".join(parts), usage=usage, truncated=truncated)
        ended = True
        yield events.text_end(answer.id)
    except ProviderError as error:
        message = redact(str(error), settings.ASSISTANT_API_KEY)[:200]
        logger.warning("assistant answer %s failed: %s", answer.id, message)
        _record(answering, text="".join(parts), usage=usage, error=message)
        ended = True
        yield events.error(message)
    finally:
        if not ended:
            # The client went away (the generator closed) or the process is stopping.
            _record(answering, text="".join(parts), usage=usage, error=INTERRUPTED)
    yield events.finish()


def _cited(text: str, sources: list[dict]) -> tuple[str, list[dict]]:
    """The text without the markers that name no given source, and the sources it cites."""
    numbers = {source["number"] for source in sources}
    cited: set[int] = set()

    def keep(match: re.Match) -> str:
        number = int(match.group(1))
        if number in numbers:
            cited.add(number)
            return match.group(0)
        return ""

    text = _MARKER.sub(keep, text)
    return text, [source for source in sources if source["number"] in cited]


def _record(
    answering: Answering,
    *,
    text: str,
    usage: dict[str, int] | None,
    truncated: bool = False,
    error: str = "",
    counted: bool = True,
) -> None:
    """The answer's row as it ended, and its tokens added to the day's."""
    answer = answering.answer
    answer.content, answer.citations = _cited(text, answer.sources)
    answer.truncated = truncated
    answer.error = error
    answer.status = Message.Status.FAILED if error else Message.Status.COMPLETED
    if counted and (usage or text):
        if usage is None:  # the provider gave none: the documented estimate
            prompt = sum(estimate_tokens(m["content"]) for m in answering.prompt)
            completion = estimate_tokens(text)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        answer.prompt_tokens = usage["prompt_tokens"]
        answer.completion_tokens = usage["completion_tokens"]
        answer.total_tokens = usage["total_tokens"]
    with transaction.atomic():
        answer.save()
        if answer.total_tokens:
            _spend(user=answering.user, usage=usage)
    metrics.job_finished("answer", answer.status, time.monotonic() - answering.started)
    if answer.prompt_tokens:
        metrics.provider_tokens.labels(ChatClient.metrics_name).inc(answer.prompt_tokens)


def _spend(*, user: User, usage: dict[str, int]) -> None:
    row, _ = DailyUsage.objects.get_or_create(
        account=account_of(user), day=utc_today(), defaults={"user": user}
    )
    # The row follows the account to its current user row (``/api/me`` reads it by user).
    DailyUsage.objects.filter(pk=row.pk).update(
        user=user,
        prompt_tokens=F("prompt_tokens") + usage["prompt_tokens"],
        completion_tokens=F("completion_tokens") + usage["completion_tokens"],
        total_tokens=F("total_tokens") + usage["total_tokens"],
    )
