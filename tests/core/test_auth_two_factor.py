"""TOTP two-factor: enrolment, the code at sign-in, the owner's requirement, reset and disable."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.utils import reset as axes_reset
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from throughline.core import services
from throughline.core.models import AuditEntry, Organization
from throughline.core.roles import Role


@pytest.fixture(autouse=True)
def _fresh_axes(db):
    axes_reset()


def code_for(device: TOTPDevice) -> str:
    """What the user's phone shows now, computed from the device's secret."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def later(seconds: int = 60):
    # TOTP refuses a code from a time step already used; a new sign-in needs a later step.
    return time_machine.travel(timezone.now() + dt.timedelta(seconds=seconds), tick=False)


def enrol(client) -> TOTPDevice:
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=response.wsgi_request.user, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def sign_in(client, email):
    response = client.post(reverse("login"), {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_setup_shows_a_server_rendered_qr_code_and_the_secret(client, users):
    client.force_login(users[Role.SALES])
    response = client.get(reverse("two_factor_setup"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "<script" not in html.split("<svg", 1)[1].split("</svg>")[0]
    device = TOTPDevice.objects.get(user=users[Role.SALES])
    assert not device.confirmed
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    assert secret[:4] in html and secret[4:8] in html
    # reloading keeps the same secret (the code the user just scanned stays valid)
    client.get(reverse("two_factor_setup"))
    assert TOTPDevice.objects.filter(user=users[Role.SALES]).count() == 1


def test_wrong_code_does_not_confirm(client, users):
    client.force_login(users[Role.SALES])
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=users[Role.SALES])
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two_factor_setup"), {"code": wrong})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not AuditEntry.objects.filter(action="user.two_factor_enabled").exists()


def test_enrol_then_every_sign_in_asks_for_a_code(client, users):
    # given: sales enrols
    sign_in(client, "sam@example.com")
    device = enrol(client)
    entry = AuditEntry.objects.get(action="user.two_factor_enabled")
    assert entry.object_id == str(users[Role.SALES].pk)
    assert client.get(reverse("home")).status_code == 200  # verified by enrolling
    client.post(reverse("logout"))

    with later():
        # when: signing in again, the password alone is not enough
        sign_in(client, "sam@example.com")
        response = client.get("/crm/contacts/?q=x")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor_verify"))
        assert "next=%2Fcrm%2Fcontacts%2F%3Fq%3Dx" in response["Location"]
        # a wrong code is refused
        response = client.post(
            reverse("two_factor_verify"), {"code": "000000", "next": "/settings/"}
        )
        assert response.status_code == 200 and "did not match" in response.content.decode()
        assert client.get(reverse("home")).status_code == 302
        # guessing is throttled: straight after a failure even the right code must wait
        response = client.post(reverse("two_factor_verify"), {"code": code_for(device)})
        assert "Too many wrong codes" in response.content.decode()
    with later(120):
        # then: the current code lets them in, to where they were going
        response = client.post(
            reverse("two_factor_verify"), {"code": code_for(device), "next": "/settings/"}
        )
        assert response.status_code == 302 and response["Location"] == "/settings/"
        assert client.get(reverse("home")).status_code == 200


def test_password_alone_cannot_enrol_a_second_device(client, users):
    sign_in(client, "sam@example.com")
    enrol(client)
    client.post(reverse("logout"))
    with later():
        sign_in(client, "sam@example.com")
        response = client.get(reverse("two_factor_setup"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor_verify"))
        response = client.post(reverse("two_factor_disable"), {"code": "123456"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor_verify"))
    assert TOTPDevice.objects.filter(user=users[Role.SALES]).count() == 1


def test_owner_requiring_two_factor_forces_enrolment(client, users):
    # given: the owner turns the requirement on from the users page
    client.force_login(users[Role.OWNER])
    response = client.post(reverse("core:require_two_factor"), {"require_two_factor": "on"})
    assert response.status_code == 302
    assert Organization.current().require_two_factor
    entry = AuditEntry.objects.filter(action="organization.updated").latest("seq")
    assert entry.changes["require_two_factor"] == [False, True]
    client.post(reverse("logout"))

    # when: a user without a device signs in
    sign_in(client, "dana@example.com")
    response = client.get(reverse("home"))
    # then: every page sends them to enrol, and the layout shows no navigation meanwhile
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_setup"))
    assert client.get(reverse("core:account")).status_code == 302
    setup = client.get(reverse("two_factor_setup"))
    assert "requires a second factor" in setup.content.decode()
    assert 'id="sidebar"' not in setup.content.decode()
    enrol(client)
    assert client.get(reverse("home")).status_code == 200


def test_disable_needs_a_current_code_and_is_refused_when_required(client, users):
    sign_in(client, "bill@example.com")
    device = enrol(client)
    with later():
        response = client.post(reverse("two_factor_disable"), {"code": "000000"})
        assert response.status_code == 400
        assert TOTPDevice.objects.filter(user=users[Role.BILLING]).exists()

        services.update_organization(services_actor(users), require_two_factor=True)
        response = client.post(reverse("two_factor_disable"), {"code": code_for(device)})
        assert response.status_code == 302
        assert TOTPDevice.objects.filter(user=users[Role.BILLING]).exists()

    services.update_organization(services_actor(users), require_two_factor=False)
    with later(120):
        response = client.post(reverse("two_factor_disable"), {"code": code_for(device)})
        assert response.status_code == 302 and response["Location"] == reverse("core:account")
    assert not TOTPDevice.objects.filter(user=users[Role.BILLING]).exists()
    assert AuditEntry.objects.filter(
        action="user.two_factor_disabled", object_id=str(users[Role.BILLING].pk)
    ).exists()


def test_admin_resets_a_lost_device(client, users):
    sign_in(client, "bill@example.com")
    enrol(client)
    client.post(reverse("logout"))
    client.force_login(users[Role.ADMIN])
    response = client.post(reverse("core:user_reset_two_factor", args=[users[Role.BILLING].pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=users[Role.BILLING]).exists()
    entry = AuditEntry.objects.get(action="user.two_factor_reset")
    assert entry.actor == users[Role.ADMIN] and entry.object_id == str(users[Role.BILLING].pk)


def services_actor(users):
    from throughline.core.actor import Actor

    return Actor(user=users[Role.OWNER], channel="ui")
