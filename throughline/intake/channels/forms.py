"""Hosted intake forms: the visitor's side — render, check, capture.

A form page carries a signed token (``django.core.signing``) holding the form, the time it
was rendered, a one-time nonce and the version of each consent wording shown. On submit:

1. the honeypot field must be empty (bots fill every input; people never see it);
2. the token must be valid for this form, and at least ``min_fill_seconds`` old (a person
   takes a few seconds to type; a script posts at once) and at most ``TOKEN_MAX_AGE``;
3. the answers are validated per field (typed kinds), mapped to a ``LeadInput`` and passed
   to ``capture_lead``; its field errors are shown on the fields they came from.

The nonce becomes the lead's ``external_id``: a double click or a reload of the POST gives
the same lead. The static embed snippet (plain HTML on the business's own site) cannot carry
a fresh token; it carries a long-lived *embed* token without a render time, so for those
posts the honeypot and the per-IP limit (views) apply but not the fill time.

Consent: the version recorded is the one in the token — the wording the person actually
saw, even if staff changed it while the page was open.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms as djforms
from django.core import signing
from django.core.exceptions import ValidationError

from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization
from throughline.crm.normalize import normalize_email, normalize_phone
from throughline.intake.capture import CaptureResult, ConsentInput, LeadInput, capture_lead
from throughline.intake.channels.models import LEAD_TARGETS, ConsentWording, FormField, IntakeForm

TOKEN_FIELD = "_token"  # noqa: S105 - a field name, not a secret
HONEYPOT_FIELD = "fax_number"  # a field no person fills in (it is hidden from them)
TOKEN_SALT = "intake_channels.form"  # noqa: S105 - a namespace
TOKEN_MAX_AGE = 2 * 24 * 3600
MAX_TEXT = 300
MAX_LONG_TEXT = 20_000
Kind = FormField.Kind


class FormRejected(Exception):
    """The submission is refused as a whole (status and a message for the visitor)."""

    status = 400
    code = "rejected"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SpamSuspected(FormRejected):
    code = "honeypot"


class TooFast(FormRejected):
    code = "too_fast"


class TokenProblem(FormRejected):
    code = "token"


class FormInvalid(Exception):
    """Field-level errors: ``errors`` maps a field key (or ``__all__``) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class TokenInfo:
    rendered_at: float | None  # None for an embed token
    nonce: str
    wordings: dict[str, int] = field(default_factory=dict)

    @property
    def embed(self) -> bool:
        return self.rendered_at is None


# --- Tokens ---------------------------------------------------------------------------------


def consent_versions(intake_form: IntakeForm) -> dict[str, int]:
    versions = {}
    for f in fields_of(intake_form):
        if f.kind == Kind.CONSENT:
            wording = f.current_wording()
            if wording is not None:
                versions[f.key] = wording.version
    return versions


def issue_token(intake_form: IntakeForm, *, embed: bool = False) -> str:
    payload: dict[str, Any] = {
        "f": str(intake_form.pk),
        "n": secrets.token_urlsafe(12),
        "w": consent_versions(intake_form),
    }
    if not embed:
        payload["t"] = int(time.time())
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def check_token(intake_form: IntakeForm, raw: Any, now: float | None = None) -> TokenInfo:
    """The token's facts, or ``TokenProblem`` / ``TooFast``."""
    if not isinstance(raw, str) or not raw or len(raw) > 2000:
        raise TokenProblem(
            "This form is missing its security token: reload the page and send it again."
        )
    try:
        payload = signing.loads(raw, salt=TOKEN_SALT)
    except signing.BadSignature as exc:
        raise TokenProblem("This form's security token is not valid: reload the page.") from exc
    if not isinstance(payload, dict) or payload.get("f") != str(intake_form.pk):
        raise TokenProblem("This token belongs to another form: reload the page.")
    wordings = payload.get("w") if isinstance(payload.get("w"), dict) else {}
    info = TokenInfo(
        rendered_at=payload.get("t"), nonce=str(payload.get("n", "")), wordings=wordings
    )
    if info.rendered_at is None:
        return info
    now = time.time() if now is None else now
    age = now - float(info.rendered_at)
    if age > TOKEN_MAX_AGE:
        raise TokenProblem("This page was open too long and has expired: reload it and send again.")
    if age < intake_form.min_fill_seconds:
        raise TooFast(
            "That was faster than a person can fill in the form, so it was not sent. "
            "Please check your answers and send again."
        )
    return info


# --- The Django form built from the definition ----------------------------------------------


def fields_of(intake_form: IntakeForm) -> list[FormField]:
    cached = getattr(intake_form, "_fields_cache", None)
    if cached is None:
        cached = list(
            intake_form.fields.prefetch_related("consent_wordings").order_by("position", "id")
        )
        intake_form._fields_cache = cached
    return cached


def _email(value: str) -> None:
    normalize_email(value)


def _phone_validator(region: str):
    def validate(value: str) -> None:
        normalize_phone(value, region)

    return validate


def _choices(f: FormField) -> list[tuple[str, str]]:
    values = [str(c) for c in (f.choices or []) if str(c).strip()]
    return [("", "— choose —"), *[(v, v) for v in values]]


def django_field(f: FormField, region: str, wording: ConsentWording | None) -> djforms.Field:
    common: dict[str, Any] = {
        "label": f.label or f.key.replace("_", " ").capitalize(),
        "required": f.required,
        "help_text": f.help_text,
    }
    attrs = {"placeholder": f.placeholder} if f.placeholder else {}
    if f.kind == Kind.EMAIL:
        attrs["autocomplete"] = "email"
        return djforms.CharField(
            max_length=254, validators=[_email], widget=djforms.EmailInput(attrs), **common
        )
    if f.kind == Kind.PHONE:
        attrs["autocomplete"] = "tel"
        return djforms.CharField(
            max_length=64,
            validators=[_phone_validator(region)],
            widget=djforms.TextInput({**attrs, "type": "tel"}),
            **common,
        )
    if f.kind == Kind.TEXTAREA:
        return djforms.CharField(
            max_length=MAX_LONG_TEXT, widget=djforms.Textarea({**attrs, "rows": 5}), **common
        )
    if f.kind == Kind.NUMBER:
        return djforms.DecimalField(
            max_digits=18, decimal_places=4, widget=djforms.NumberInput(attrs), **common
        )
    if f.kind == Kind.DATE:
        return djforms.DateField(widget=djforms.DateInput({"type": "date"}), **common)
    if f.kind == Kind.CHOICE:
        return djforms.ChoiceField(choices=_choices(f), **common)
    if f.kind in {Kind.CHECKBOX, Kind.CONSENT}:
        if f.kind == Kind.CONSENT and wording is not None:
            common["label"] = wording.text
        return djforms.BooleanField(**common)
    return djforms.CharField(max_length=MAX_TEXT, widget=djforms.TextInput(attrs), **common)


class PublicForm(djforms.Form):
    """The visitor's form: typed fields from the definition, plus token and honeypot."""

    def __init__(
        self, intake_form: IntakeForm, *args, wordings: dict[str, int] | None = None, **kwargs
    ):
        kwargs.setdefault("auto_id", "f-%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.intake_form = intake_form
        region = Organization.current().default_phone_region
        self.wordings: dict[str, ConsentWording] = {}
        for f in fields_of(intake_form):
            wording = None
            if f.kind == Kind.CONSENT:
                wording = _wording(f, (wordings or {}).get(f.key))
                if wording is not None:
                    self.wordings[f.key] = wording
            self.fields[f.key] = django_field(f, region, wording)

    def visible(self):
        return [self[name] for name in self.fields]


def _wording(f: FormField, version: Any) -> ConsentWording | None:
    wordings = list(f.consent_wordings.all())
    if isinstance(version, int):
        for w in wordings:
            if w.version == version:
                return w
    return max(wordings, key=lambda w: w.version, default=None)


# --- Submitting -----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(_jsonable(value))


def target_of(f: FormField) -> str:
    if f.maps_to:
        return f.maps_to
    return f.key if f.key in LEAD_TARGETS else ""


def lead_input_from(
    form: PublicForm, info: TokenInfo, *, ip: str | None, referrer: str = "", utm=None
) -> tuple[LeadInput, dict[str, str]]:
    """The cleaned answers as a ``LeadInput``; and lead field → form key, to place errors."""
    intake_form = form.intake_form
    data = LeadInput(
        channel="form",
        source=intake_form.source_slug,
        ip=ip,
        referrer=referrer,
        utm=utm or {},
        external_id=f"form:{info.nonce}" if info.nonce and not info.embed else "",
    )
    where: dict[str, str] = {}
    extra_lines: list[str] = []
    answers: dict[str, Any] = {}
    for f in fields_of(intake_form):
        value = form.cleaned_data.get(f.key)
        answers[f.key] = _jsonable(value)
        if f.kind == Kind.CONSENT:
            wording = form.wordings.get(f.key)
            if value and wording is not None:
                data.consents.append(
                    ConsentInput(
                        purpose=f.consent_purpose or "marketing",
                        granted=True,
                        wording_version=wording.code,
                        wording=wording.text,
                    )
                )
                where.setdefault("consent", f.key)
            continue
        if value in (None, "") or (f.kind == Kind.CHECKBOX and value is False and not target_of(f)):
            continue
        target = target_of(f)
        if target == "full_name":
            first, _, last = str(value).strip().rpartition(" ")
            data.first_name, data.last_name = (first, last) if first else (last, "")
            where.update(first_name=f.key, last_name=f.key)
        elif target in LEAD_TARGETS:
            setattr(data, target, str(value))
            where[target] = f.key
        elif target.startswith("custom."):
            data.custom[target.removeprefix("custom.")] = _jsonable(value)
            where[target] = f.key
        else:
            extra_lines.append(f"{form.fields[f.key].label}: {_display(value)}")
    if extra_lines:
        data.message = "\n\n".join(filter(None, [data.message, "\n".join(extra_lines)]))
    data.raw = {"form": intake_form.slug, "answers": answers}
    return data, where


def check_honeypot(value: Any) -> None:
    if value not in (None, ""):
        raise SpamSuspected(
            "The form could not be sent: a field meant to stay empty was filled in. "
            "If you are a person, reload the page and try again."
        )


def submit(
    intake_form: IntakeForm,
    data: dict[str, Any],
    *,
    ip: str | None,
    referrer: str = "",
    utm: dict | None = None,
    now: float | None = None,
) -> tuple[CaptureResult, PublicForm]:
    """Check and capture one submission (``data``: the posted values by field key).

    Raises ``FormRejected`` (whole submission refused) or ``FormInvalid`` (field errors);
    in both cases nothing was written.
    """
    if not intake_form.is_active:
        raise FormRejected("This form is closed.")
    check_honeypot(data.get(HONEYPOT_FIELD))
    info = check_token(intake_form, data.get(TOKEN_FIELD), now=now)
    form = PublicForm(intake_form, data, wordings=info.wordings)
    if not form.is_valid():
        raise FormInvalid({k: list(v) for k, v in form.errors.items()})
    lead_input, where = lead_input_from(form, info, ip=ip, referrer=referrer, utm=utm)
    actor = Actor(user=None, channel=Channel.PORTAL, ip=ip, label=f"form {intake_form.slug}")
    try:
        result = capture_lead(actor, lead_input)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for name, messages in exc.message_dict.items():
            key = where.get(name) or where.get(name.split(".")[0]) or "__all__"
            if key == "__all__" and name not in {"__all__"}:
                messages = [f"{LEAD_TARGETS.get(name, name)}: {m}" for m in messages]
            if key == "__all__" and name == "__all__":
                messages = [_friendly_all(m, intake_form) for m in messages]
            errors.setdefault(key, []).extend(messages)
        raise FormInvalid(errors) from exc
    return result, form


def _friendly_all(message: str, intake_form: IntakeForm) -> str:
    if "e-mail address or a phone number" in message:
        return "Please give your e-mail address or a phone number, so we can answer you."
    return message
