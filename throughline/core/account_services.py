"""Write paths of a user's own sign-in security: TOTP two-factor devices and password changes.

Like every service: one transaction, an audit entry. Views call these; nothing else creates,
confirms or removes an OTP device.
"""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import User

DEVICE_NAME = "Authenticator app"


def pending_totp_device(user: User) -> TOTPDevice:
    """The user's unconfirmed TOTP device (its secret is shown during enrolment).

    Enrolment restarts with the same secret until confirmed, so reloading the setup page does
    not invalidate a QR code the user has just scanned.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


@transaction.atomic
def confirm_totp_device(actor: Actor, device: TOTPDevice, token: str) -> bool:
    """Confirm ``device`` when ``token`` is a current code from it; returns whether it was."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed or not device.verify_token((token or "").strip().replace(" ", "")):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # Any other half-finished enrolment is now stale.
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    audit_log.record(
        actor,
        "user.two_factor_enabled",
        device.user,
        changes={"two_factor": [False, True]},
    )
    return True


@transaction.atomic
def disable_two_factor(actor: Actor, user: User) -> bool:
    """Remove every OTP device of ``user`` (own choice, or an admin resetting a lost phone).

    Returns whether the user had two-factor enabled (a confirmed device).
    """
    had_two_factor = False
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user=user)
        had_two_factor |= devices.filter(confirmed=True).exists()
        devices.delete()
    if had_two_factor:
        action = (
            "user.two_factor_disabled"
            if actor.user is not None and actor.user.pk == user.pk
            else "user.two_factor_reset"
        )
        audit_log.record(actor, action, user, changes={"two_factor": [True, False]})
    return had_two_factor


@transaction.atomic
def record_password_change(actor: Actor, user: User, *, how: str) -> None:
    """Audit a password change (``how``: "changed" by the user or "reset" by e-mail link)."""
    audit_log.record(actor, "user.password_changed", user, changes={"password": [None, how]})
