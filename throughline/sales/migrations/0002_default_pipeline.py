"""A working start: one pipeline with common stages, and a list of lost reasons."""

import uuid

from django.db import migrations
from django.utils import timezone

STAGES = [
    # name, win probability %, flag as stalled after N idle days
    ("New", 10, 7),
    ("Qualified", 25, 14),
    ("Proposal sent", 50, 14),
    ("Negotiation", 75, 21),
]
LOST_REASONS = [
    "Price",
    "Timing",
    "Chose a competitor",
    "No budget",
    "No decision / went silent",
    "Not a fit",
    "Other",
]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    LostReason = apps.get_model("sales", "LostReason")
    now = timezone.now()
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(
            id=uuid.uuid4(), name="Sales", position=1, is_default=True, created_at=now, updated_at=now
        )
        for position, (name, probability, stall) in enumerate(STAGES, start=1):
            Stage.objects.create(
                id=uuid.uuid4(),
                pipeline=pipeline,
                name=name,
                position=position,
                probability=probability,
                stall_after_days=stall,
                created_at=now,
                updated_at=now,
            )
    if not LostReason.objects.exists():
        for position, name in enumerate(LOST_REASONS, start=1):
            LostReason.objects.create(name=name, position=position)


def remove_defaults(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    LostReason = apps.get_model("sales", "LostReason")
    Deal = apps.get_model("sales", "Deal")
    if not Deal.objects.exists():
        Pipeline.objects.filter(name="Sales").delete()
        LostReason.objects.filter(name__in=LOST_REASONS).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
