import uuid

from django.db import models


class TimestampedModel(models.Model):
    """UUID primary key (safe in URLs) plus created/updated times."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SingletonModel(models.Model):
    """A settings table with one row (pk 1), created with its defaults on first use."""

    class Meta:
        abstract = True

    @classmethod
    def singleton_defaults(cls) -> dict:
        """Field values the row is created with, beyond the fields' own defaults."""
        return {}

    @classmethod
    def current(cls):
        row = cls.objects.filter(pk=1).first()
        if row is None:
            row, _ = cls.objects.get_or_create(pk=1, defaults=cls.singleton_defaults())
        return row
