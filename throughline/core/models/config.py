"""The configuration stamp: changes whenever a setting that services remember changes."""

from __future__ import annotations

from django.db import models


class ConfigStamp(models.Model):
    """One row whose ``stamp`` is set to a new random number by every change of a watched
    configuration model, in the changing transaction (``core.lookup_cache``).

    A process keeps read-mostly lookups (the organization, lead sources, rules, templates)
    while the stamp it reads is the one they were read under. Random rather than a counter:
    a change that is rolled back must never leave a stamp that a later change could reuse.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    stamp = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "configuration stamp"

    def __str__(self) -> str:
        return f"config stamp {self.stamp}"
