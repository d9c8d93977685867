"""The welcome e-mail after kick-off: portal link and the onboarding questionnaire."""

from __future__ import annotations

import re

import pytest

from throughline.delivery.models import OnboardingResponse

pytestmark = pytest.mark.django_db
LINKS = re.compile(r"https?://[^/\s]+(/c/[A-Za-z0-9_-]{20,100}/\S*)")


def test_welcome_mail_brings_the_client_to_the_portal_and_questionnaire(
    smtp_server, project, run_jobs, client
):
    run_jobs()
    mails = [
        m["message"] for m in smtp_server.messages if "Welcome aboard" in m["message"]["Subject"]
    ]
    assert len(mails) == 1 and mails[0]["To"] == "peter@initech.example"
    body = mails[0].get_body(("plain",)).get_content()
    home, questionnaire = LINKS.findall(body)
    assert home.endswith("/") and questionnaire.endswith(f"/projects/{project.pk}/onboarding")

    assert project.name in client.get(home).content.decode()
    assert client.post(questionnaire, {"access": "", "assets": ""}).status_code == 400
    response = client.post(
        questionnaire, {"access": "VPN via IT (Bob)", "stakeholders": "Peter, Joanna"}
    )
    assert response.status_code == 302
    answers = OnboardingResponse.objects.get(project=project).answers
    assert answers["access"] == "VPN via IT (Bob)" and answers["stakeholders"] == "Peter, Joanna"


def test_welcome_is_sent_once_when_the_event_is_redelivered(project, smtp_server, run_jobs):
    from throughline.core.models import DomainEvent
    from throughline.messaging.models import OutboundMessage
    from throughline.portal.handlers import send_welcome

    run_jobs()
    send_welcome(DomainEvent.objects.get(name="project.created"))
    assert OutboundMessage.objects.filter(template_key="delivery-welcome").count() == 1
