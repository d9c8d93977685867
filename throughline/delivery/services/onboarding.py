"""The client's onboarding questionnaire (access, assets, stakeholders), answered in the portal."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.delivery.models import OnboardingResponse, Project

QUESTIONS = ("access", "assets", "stakeholders", "notes")


@transaction.atomic
def record_answers(
    actor: Actor, project: Project, answers: dict[str, Any], *, by: str = ""
) -> OnboardingResponse:
    clean = {key: str(answers.get(key) or "").strip()[:5000] for key in QUESTIONS}
    response, created = OnboardingResponse.objects.update_or_create(
        project=project, defaults={"answers": clean, "submitted_by": (by or actor.display)[:200]}
    )
    audit_log.record(
        actor,
        "onboarding.answered" if created else "onboarding.updated",
        response,
        changes={key: [None, bool(value)] for key, value in clean.items()},
    )
    return response
