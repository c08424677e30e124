"""django-q2 tasks: ids in, a service call, nothing else."""

from core.jobs import JobFailed, Outcome
from documents.jobs import document_extract_text


def extract_document_text(document_id: str) -> str:
    outcome = document_extract_text(document_id=document_id)
    if outcome == Outcome.FAILED:
        # So the task shows as failed in the admin's task pages; the document row has the
        # user-facing reason.
        raise JobFailed(f"document {document_id} text failed (see its text error)")
    return outcome.value
