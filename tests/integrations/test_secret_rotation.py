"""Rotating a secret: both signatures during the overlap, only the new one after."""

import datetime as dt

from throughline.core.models import AuditEntry
from throughline.integrations import services, signing

from .conftest import docs_verify


def test_both_secrets_sign_during_the_overlap(
    make_receiver, endpoint_for, actor, emit, run_jobs, time_machine
):
    receiver = make_receiver()
    endpoint = endpoint_for(receiver)
    old_secret = endpoint.secret
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)

    endpoint = services.rotate_secret(actor, endpoint)  # default overlap: 24 hours
    new_secret = endpoint.secret
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    assert endpoint.previous_secret_expires_at == start + dt.timedelta(hours=24)

    emit(subject_id="during")
    run_jobs()
    during = receiver.requests[-1]
    header = during.headers["Throughline-Signature"]
    assert header.count("v1=") == 2
    verify = docs_verify()
    # a receiver still on the old secret and one already on the new both accept it
    assert verify(old_secret, header, during.body)
    assert verify(new_secret, header, during.body)

    time_machine.move_to(start + dt.timedelta(hours=25), tick=False)
    emit(subject_id="after")
    run_jobs()
    after = receiver.requests[-1]
    header = after.headers["Throughline-Signature"]
    assert header.count("v1=") == 1
    assert verify(new_secret, header, after.body)
    assert not verify(old_secret, header, after.body)

    # the sweep forgets the expired secret
    assert services.expire_previous_secrets() == 1
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == ""

    # secrets never reach the audit log
    entries = AuditEntry.objects.filter(object_id=str(endpoint.pk))
    assert entries.filter(action="webhook.secret_rotated").exists()
    assert all(
        old_secret not in str(e.changes) and new_secret not in str(e.changes) for e in entries
    )


def test_rotating_at_once_drops_the_old_secret(make_receiver, endpoint_for, actor, emit, run_jobs):
    receiver = make_receiver()
    endpoint = endpoint_for(receiver)
    old_secret = endpoint.secret
    endpoint = services.rotate_secret(actor, endpoint, overlap_hours=0)
    emit()
    run_jobs()
    header = receiver.requests[-1].headers["Throughline-Signature"]
    assert header.count("v1=") == 1
    assert not signing.verify_signature(old_secret, header, receiver.requests[-1].body)
    assert signing.verify_signature(endpoint.secret, header, receiver.requests[-1].body)


def test_verify_signature_refuses_old_and_malformed_headers():
    body = b'{"id":"1"}'
    now = 1_767_225_600
    header = signing.signature_header(["whsec_a"], now, body)
    assert signing.verify_signature("whsec_a", header, body, now=now + 299)
    assert not signing.verify_signature("whsec_a", header, body, now=now + 301)  # replayed
    assert not signing.verify_signature("whsec_a", header, body, tolerance=10, now=now - 11)
    for bad in ("", "t=abc,v1=00", "v1=" + "0" * 64, f"t={now}", "garbage", f"t={now},v1="):
        assert not signing.verify_signature("whsec_a", bad, body, now=now)
    assert signing.verify_signature("whsec_a", header, body.decode(), now=now)  # str bodies too
