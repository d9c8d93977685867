"""Scoring fixtures: lead custom questions, a rubric, and the intake fixtures (capture, api)."""

from __future__ import annotations

import pytest

from tests.intake.conftest import (  # noqa: F401 - fixtures shared with intake's tests
    CheckedClient,
    _fresh_throttles,
    api,
    api_actor,
    capture,
    sales,
)
from throughline.crm.models import CustomFieldDefinition
from throughline.intake.scoring import qualification


@pytest.fixture
def questions(db):
    """The organization's intake questions: budget (number), timeline and service (choice)."""
    CustomFieldDefinition.objects.create(entity="lead", key="budget", label="Budget", kind="number")
    CustomFieldDefinition.objects.create(
        entity="lead",
        key="timeline",
        label="Timeline",
        kind="choice",
        choices=["now", "this-quarter", "later"],
    )
    CustomFieldDefinition.objects.create(
        entity="lead",
        key="service",
        label="Service",
        kind="choice",
        choices=["websites", "branding", "hosting"],
    )


@pytest.fixture
def rubric(actor, questions):
    """Budget 5k–50k (+40), timeline now (+30), service websites/branding (+20),
    knock-out: in the UK (phone region GB). Discovery from 60, nurture from 30."""
    qualification.add_criterion(
        actor,
        kind="budget",
        label="Budget 5k–50k",
        field="custom.budget",
        operator="between",
        value="5000, 50000",
        points=40,
    )
    qualification.add_criterion(
        actor,
        kind="timeline",
        label="Starting now",
        field="custom.timeline",
        operator="eq",
        value="now",
        points=30,
    )
    qualification.add_criterion(
        actor,
        kind="service",
        label="A service we offer",
        field="custom.service",
        operator="in",
        value="websites, branding",
        points=20,
    )
    qualification.add_criterion(
        actor,
        kind="location",
        label="Based in the UK",
        field="country",
        operator="eq",
        value="GB",
        knockout=True,
    )
    return qualification.update_rubric(
        actor, is_active=True, auto_apply=True, discovery_at=60, nurture_at=30
    )
