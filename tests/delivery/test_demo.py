"""The delivery demo section runs after sales' and is re-runnable."""

from __future__ import annotations

import pytest

from throughline.core.demo import build_demo
from throughline.delivery.models import Project

pytestmark = pytest.mark.django_db


def test_demo_makes_projects_once(org):
    build_demo(only=["crm", "sales", "delivery"])
    projects = Project.objects.count()
    assert projects >= 1
    assert (
        Project.objects.filter(milestones__status="accepted").exists()
        or Project.objects.filter(kind="retainer").exists()
    )
    build_demo(only=["crm", "sales", "delivery"])
    assert Project.objects.count() == projects
