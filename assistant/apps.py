from django.apps import AppConfig


class AssistantConfig(AppConfig):
    """The study assistant: conversations whose answers are written from the student's own
    material, cited, and streamed as they are written."""

    name = "assistant"
    verbose_name = "Study assistant"

    def ready(self) -> None:
        from accounts.selectors import usage_count_register
        from assistant import checks  # noqa: F401  (system checks)
        from assistant.models import Message, MessageStatus, Role
        from assistant.selectors import tokens_today_per_user
        from core.selectors import JobKind, job_kind_register

        # accounts sits below the assistant: it learns of this count by registration.
        usage_count_register(
            name="assistant_tokens_today",
            help_text="Study assistant tokens my account spent today (UTC).",
            per_user=tokens_today_per_user,
        )
        # An answer is written while the student waits, so it is never queued; it is read
        # on its conversation's admin page, by staff who may read conversations.
        job_kind_register(
            JobKind(
                name="assistant answers",
                rows=lambda: Message.objects.filter(role=Role.ANSWER),
                waiting=(),
                running=(MessageStatus.STREAMING,),
                failed=MessageStatus.FAILED,
                shown_on="assistant.Conversation",
                object_id="conversation_id",
                label="conversation__title",
                error_field="error",
            )
        )
