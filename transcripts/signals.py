"""What transcripts tell other apps (their receivers are theirs; ours are in ``receivers``)."""

from django.dispatch import Signal

# Sent inside the transaction that replaced a lecture's transcript segments (a transcript
# completed, captions imported), with ``lecture_id``: a receiver's writes commit with them.
segments_replaced = Signal()
