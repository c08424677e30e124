"""S3 settings that matter for memory: imported by the settings, so no Django imports here."""

from __future__ import annotations

MiB = 1024 * 1024


def s3_transfer_config():
    """Multipart uploads with bounded memory.

    boto3's defaults read up to ten 8 MiB parts into memory at once, each copied again on
    its way out (80 MiB traced for one 60 MiB upload). One 5 MiB part at a time, in the
    calling thread, keeps it under 10 MiB whatever the file size; parts go out one after
    another, which a server-side upload of at most a few hundred MiB can afford.
    """
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB, use_threads=False
    )
