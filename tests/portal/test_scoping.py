"""A client sees only their own records: another client's ids answer 404, whatever the URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from throughline.delivery.services import files
from throughline.portal import links

pytestmark = pytest.mark.django_db


def test_home_lists_the_clients_own_records(client, project, other_client, link):
    response = client.get(reverse("portal:home", args=[link]))
    assert response.status_code == 200
    html = response.content.decode()
    assert project.name in html and "Discovery" in html
    assert other_client.name not in html
    assert project.proposal.number in html
    assert other_client.proposal.number not in html
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "same-origin"


def test_ids_of_another_client_answer_404(client, project, other_client, link, media, actor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    theirs = files.share_file(
        actor, other_client, SimpleUploadedFile("plan.pdf", b"%PDF-1.7 secret", "application/pdf")
    )
    milestone = other_client.milestones.first()
    for name, pk in [
        ("portal:project", other_client.pk),
        ("portal:milestone", milestone.pk),
        ("portal:file", theirs.pk),
        ("portal:questionnaire", other_client.pk),
        ("portal:proposal", other_client.proposal_id),
        ("portal:contract_pdf", other_client.contract_id),
    ]:
        assert client.get(reverse(name, args=[link, pk])).status_code == 404, name
    # writing to another client's milestone is refused as well, and changes nothing
    response = client.post(
        reverse("portal:milestone", args=[link, milestone.pk]), {"decision": "accept"}
    )
    assert response.status_code == 404
    milestone.refresh_from_db()
    assert milestone.status == "planned"
    # while their own pages open
    assert client.get(reverse("portal:project", args=[link, project.pk])).status_code == 200


def test_a_link_of_another_scope_or_expired_does_not_open_the_portal(client, project, link):
    import datetime as dt

    import time_machine

    from throughline.core import public_tokens

    proposal_token = public_tokens.issue_token("proposal", project.proposal, dt.timedelta(days=1))
    assert client.get(reverse("portal:home", args=[proposal_token])).status_code == 404
    assert client.get(reverse("portal:home", args=["A" * 43])).status_code == 404
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=61)):
        response = client.get(reverse("portal:home", args=[link]))
    assert response.status_code == 410
    assert reverse("portal:new_link") in response.content.decode()


def test_documents_open_on_their_own_client_pages(client, project, link):
    response = client.get(reverse("portal:proposal", args=[link, project.proposal_id]))
    assert response.status_code == 302
    assert "/proposal" in response["Location"]
    assert client.get(response["Location"]).status_code == 200


def test_new_link_is_sent_without_revealing_whether_the_address_exists(
    client, project, smtp_server, run_jobs
):
    url = reverse("portal:new_link")
    known = client.post(url, {"email": "peter@initech.example"})
    unknown = client.post(url, {"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().replace(
        "peter@initech.example", ""
    ) == unknown.content.decode().replace("nobody@nowhere.example", "")
    run_jobs()
    sent = [
        m["message"] for m in smtp_server.messages if "client portal" in m["message"]["Subject"]
    ]
    assert [m["To"] for m in sent] == ["peter@initech.example"]
    body = sent[0].get_body(("plain",)).get_content()
    token = body.split("/c/")[1].split("/")[0]
    assert links.public_tokens.resolve_token(token, links.SCOPE) == project.contact


def test_new_link_requests_are_rate_limited(client, project):
    from django.core.cache import cache

    cache.clear()
    url = reverse("portal:new_link")
    answers = [client.post(url, {"email": f"x{i}@example.com"}).status_code for i in range(7)]
    assert answers[:5] == [200] * 5
    assert answers[-1] == 429
    cache.clear()


def test_staff_send_a_fresh_link_from_the_project_page(client_as, project, smtp_server, run_jobs):
    response = client_as("delivery").post(reverse("portal:staff_send_link", args=[project.pk]))
    assert response.status_code == 302
    run_jobs()
    mail = [
        m["message"] for m in smtp_server.messages if "client portal" in m["message"]["Subject"]
    ]
    assert [m["To"] for m in mail] == ["peter@initech.example"]
    assert (
        client_as("viewer").post(reverse("portal:staff_send_link", args=[project.pk])).status_code
        == 403
    )
