"""No staff page, API answer, outbound-message record or job argument reveals a signer's link
or one-time code: they exist only in the e-mails that reached the signers' mailboxes."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests.signing.conftest import CODE, LINK, sign_everyone, text_of
from throughline.core.models import AuditEntry
from throughline.messaging.models import OutboundMessage
from throughline.signing.models import SignatureEvidence
from throughline.signing.services import contracts

pytestmark = pytest.mark.django_db


def secrets_in(inbox) -> set[str]:
    found = set()
    for item in inbox.messages:
        text = text_of(item["message"])
        found |= {m.group(1) for m in LINK.finditer(text)}
        found |= {m.group(1) for m in CODE.finditer(text)}
    return found


def test_links_and_codes_appear_nowhere_staff_can_look(
    two_party,
    seal_certificate,
    sales_actor,
    signer_browser,
    run_jobs,
    smtp_server,
    client_as,
    api,
    peter,
):
    request = contracts.send_contract(sales_actor, two_party)
    sign_everyone(request, signer_browser, run_jobs)
    secrets = secrets_in(smtp_server)
    tokens = [s for s in secrets if len(s) > 6]
    codes = [s for s in secrets if len(s) == 6]
    assert len(tokens) >= 4 and len(codes) == 2  # invitations, completion links; two codes

    # the outbound-message ledger holds placeholders, never the secrets
    stored = list(OutboundMessage.objects.filter(source__startswith="signing."))
    assert stored
    ledger = " ".join(m.body_text + m.body_html + m.subject for m in stored)
    assert "[[signing:link:" in ledger and "[[signing:code:" in ledger
    # job arguments (shown on the failed-jobs page) and the audit log
    jobs = " ".join(json.dumps(j.args_kwargs) for j in DBTaskResult.objects.all())
    audit = " ".join(json.dumps(e.changes) + e.object_repr for e in AuditEntry.objects.all())
    trail = " ".join(json.dumps(r.details) for r in SignatureEvidence.objects.all())

    pages = []
    staff = client_as("owner")
    for url in [
        reverse("signing:contract_list"),
        reverse("signing:contract_detail", args=[two_party.pk]),
        reverse("signing:contract_evidence", args=[two_party.pk]),
        reverse("signing:settings"),
        reverse("crm:contact_detail", args=[peter.pk]),
        reverse("core:audit_log"),
        reverse("core:failed_jobs"),
    ]:
        response = staff.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    owner_api = api("owner")
    for url in ["/api/v1/contracts", f"/api/v1/contracts/{two_party.pk}", "/api/v1/events"]:
        response = owner_api.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())

    everything = " ".join([ledger, jobs, audit, trail, *pages])
    for token in tokens:
        assert token not in everything
    for code in codes:
        # a 6-digit code could occur by chance inside a hash: look for it standing alone
        assert not re.search(rf"(?<![0-9a-f]){code}(?![0-9a-f])", everything), code
