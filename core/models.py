"""Rows that belong to no app."""

from django.db import models


class RateLimitBucket(models.Model):
    """One rate-limit bucket (``core.throttling``): the moment, in Unix seconds, at which
    its key's bucket is empty again. A row whose moment has passed counts as no row; such
    rows are deleted now and then by the writes themselves."""

    key = models.CharField(primary_key=True, max_length=100)
    empty_at = models.FloatField()

    class Meta:
        db_table = "core_rate_limit_bucket"

    def __str__(self) -> str:
        return self.key
