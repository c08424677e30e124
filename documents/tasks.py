"""django-q2 tasks: ids in, a service call, nothing else."""

from core.jobs import task_result
from documents.jobs import document_extract_text


def extract_document_text(document_id: str) -> str:
    return task_result(
        document_extract_text(document_id=document_id),
        f"document {document_id} text failed (see its text error)",
    )
