"""Lead webhooks: ``POST /hooks/leads/<source>``, signed, mapped, captured.

Signatures (HMAC-SHA256 keyed with the source's secret, over the **raw** body bytes):

* generic sources: ``X-Throughline-Signature: sha256=<hex>``. A sender may add
  ``X-Throughline-Timestamp: <unix seconds>`` and sign ``"<timestamp>.<body>"`` instead; then
  a request more than ``TIMESTAMP_TOLERANCE`` seconds old is refused (replay window closed);
* Facebook sources: ``X-Hub-Signature-256: sha256=<hex>`` (the app secret), and the
  verification challenge ``GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``.

While a rotated secret's overlap lasts, the previous secret is accepted too. A bad signature
is answered 401 and leaves only an audit entry ``security.webhook_rejected``.

Replays: every accepted delivery is kept in the ``WebhookDelivery`` ledger under the digest of
its body; the same body again is answered with the first answer and creates nothing. The
payload's own lead id (``external_id``) makes captures idempotent as well.

Mapping: a generic source maps lead fields to paths in the JSON (``{"email":
"contact.email", "first_name": "contact.name.first", "custom.budget": "answers.0.value"}``);
without a mapping the payload's top-level keys are taken by their lead field names (and
``id`` as the sender's lead id). A
Facebook source reads the Lead Ads shape — ``field_data: [{"name": "email", "values":
["…"]}]`` — as a lead object, inside ``entry[].changes[].value``, or as a list in ``data``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.capture import ConsentInput, LeadInput, capture_lead
from throughline.intake.channels.models import (
    LEAD_TARGETS,
    WebhookDelivery,
    WebhookSource,
    new_secret,
)

MAX_BODY_BYTES = 256 * 1024
MAX_LEADS_PER_DELIVERY = 50
TIMESTAMP_TOLERANCE = 300
SECRET_OVERLAP = dt.timedelta(hours=24)
SIGNATURE_HEADER = "X-Throughline-Signature"
TIMESTAMP_HEADER = "X-Throughline-Timestamp"
FACEBOOK_SIGNATURE_HEADER = "X-Hub-Signature-256"

# Lead fields a generic payload may carry under their own names (no mapping configured).
DIRECT_KEYS = [*LEAD_TARGETS, "external_id", "utm", "referrer", "custom", "source"]
MAPPING_TARGETS = {*LEAD_TARGETS, "external_id", "referrer", "received_at"}

# Facebook Lead Ads standard question names → lead fields.
FACEBOOK_FIELDS = {
    "full_name": "full_name",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "work_email": "email",
    "phone_number": "phone",
    "work_phone_number": "phone",
    "company_name": "company",
    "job_title": "title",
    "website": "website",
}


class SignatureInvalid(Exception):
    pass


class PayloadInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]], status: int = 422):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


@dataclass
class DeliveryResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False


# --- Secrets --------------------------------------------------------------------------------


def generate_secret() -> str:
    return new_secret("whsec_")


def active_secrets(source: WebhookSource, now: dt.datetime | None = None) -> list[str]:
    now = now or timezone.now()
    found = [source.secret]
    if (
        source.previous_secret
        and source.previous_secret_expires_at
        and source.previous_secret_expires_at > now
    ):
        found.append(source.previous_secret)
    return [s for s in found if s]


@transaction.atomic
def rotate_secret(
    actor: Actor, source: WebhookSource, overlap: dt.timedelta = SECRET_OVERLAP
) -> str:
    """A new secret (returned once); the old one keeps working for ``overlap`` (0: at once)."""
    source = WebhookSource.objects.select_for_update().get(pk=source.pk)
    source.previous_secret = source.secret if overlap.total_seconds() > 0 else ""
    source.previous_secret_expires_at = (
        timezone.now() + overlap if overlap.total_seconds() > 0 else None
    )
    source.secret = generate_secret()
    source.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    audit_log.record(
        actor,
        "webhook_source.secret_rotated",
        source,
        changes={"overlap_hours": [None, overlap.total_seconds() / 3600]},
    )
    return source.secret


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts in ``X-Throughline-Signature`` / ``X-Hub-Signature-256``."""
    message = (f"{timestamp}.".encode() + body) if timestamp is not None else body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(source: WebhookSource, body: bytes, headers, now: float | None = None) -> None:
    """Raise ``SignatureInvalid`` unless the request is signed with a current secret."""
    header_name = (
        FACEBOOK_SIGNATURE_HEADER
        if source.kind == WebhookSource.Kind.FACEBOOK
        else SIGNATURE_HEADER
    )
    header = (headers.get(header_name) or "").strip()
    if not header.startswith("sha256=") or len(header) != 71:
        raise SignatureInvalid(f"missing or malformed {header_name}")
    timestamp: int | None = None
    if source.kind == WebhookSource.Kind.GENERIC and headers.get(TIMESTAMP_HEADER):
        try:
            timestamp = int(headers.get(TIMESTAMP_HEADER))
        except ValueError as exc:
            raise SignatureInvalid("malformed timestamp") from exc
        now = time.time() if now is None else now
        if abs(now - timestamp) > TIMESTAMP_TOLERANCE:
            raise SignatureInvalid("timestamp outside the tolerance (replayed or clock skew)")
    for secret in active_secrets(source):
        if hmac.compare_digest(sign(secret, body, timestamp), header.lower()):
            return
    raise SignatureInvalid("signature does not match")


def record_rejection(source_slug: str, reason: str, ip: str | None) -> None:
    """The only trace of a refused request: an audit entry (no lead, no delivery row)."""
    actor = Actor(user=None, channel=Channel.WEBHOOK, ip=ip, label=f"webhook {source_slug[:50]}")
    with transaction.atomic():
        audit_log.record(
            actor,
            "security.webhook_rejected",
            object_type="intake_channels.webhooksource",
            object_id=source_slug[:64],
            object_repr=f"POST /hooks/leads/{source_slug[:50]}",
            changes={"reason": [None, reason[:200]]},
        )


def challenge(source: WebhookSource, params) -> str | None:
    """The ``hub.challenge`` to echo when the verify token matches, else None."""
    if params.get("hub.mode") != "subscribe" or not source.verify_token:
        return None
    token = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(token.encode(), source.verify_token.encode()):
        return None
    value = params.get("hub.challenge") or ""
    return value[:200] if value.isascii() and value.isprintable() else None


# --- Mapping --------------------------------------------------------------------------------


def lookup(payload: Any, path: str) -> Any:
    """``contact.emails.0`` → the value at that path, or None when any step is missing."""
    current = payload
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def clean_mapping(mapping: Any) -> dict[str, str]:
    """Validate a source's mapping (staff input): target → dotted path."""
    if mapping in (None, ""):
        return {}
    if isinstance(mapping, str):
        try:
            mapping = json.loads(mapping)
        except ValueError as exc:
            raise ValidationError({"mapping": f"Not valid JSON: {exc}"}) from exc
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": 'Give an object: {"email": "contact.email", …}.'})
    cleaned = {}
    for target, path in mapping.items():
        ok_target = target in MAPPING_TARGETS or (
            target.startswith(("custom.", "utm.")) and len(target) > 5
        )
        if not ok_target:
            raise ValidationError({"mapping": f"Unknown lead field {target!r}."})
        if not isinstance(path, str) or not path.strip():
            raise ValidationError(
                {"mapping": f'{target}: give the path as text, e.g. "contact.email".'}
            )
        cleaned[target] = path.strip()
    return cleaned


def _scalar(value: Any, name: str, errors: dict[str, list[str]]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.setdefault(name, []).append("Must be text.")
        return ""
    return str(value)


def _apply(
    data: LeadInput, target: str, value: Any, errors: dict[str, list[str]], where: str
) -> None:
    if target.startswith("custom."):
        if value is not None:
            data.custom[target.removeprefix("custom.")] = value
        return
    if target.startswith("utm."):
        if value is not None:
            data.utm[target.removeprefix("utm.")] = value
        return
    if target == "received_at":
        text = _scalar(value, where, errors)
        if text:
            try:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                errors.setdefault(where, []).append("Not an ISO 8601 time.")
            else:
                data.received_at = parsed if timezone.is_aware(parsed) else None
        return
    text = _scalar(value, where, errors)
    if target == "full_name":
        first, _, last = text.strip().rpartition(" ")
        data.first_name, data.last_name = (first, last) if first else (last, "")
    else:
        setattr(data, target, text)


def generic_inputs(source: WebhookSource, payload: Any) -> list[tuple[LeadInput, dict[str, str]]]:
    if not isinstance(payload, dict):
        raise PayloadInvalid({"__all__": ["Send one JSON object per request."]}, status=400)
    data = LeadInput(channel="webhook", source=source.capture_source, raw=payload)
    errors: dict[str, list[str]] = {}
    where: dict[str, str] = {}
    if source.mapping:
        for target, path in source.mapping.items():
            where[target] = path
            _apply(data, target, lookup(payload, path), errors, path)
    else:
        for key in DIRECT_KEYS:
            if key not in payload:
                continue
            value = payload[key]
            if key in {"utm", "custom"}:
                if not isinstance(value, dict):
                    errors.setdefault(key, []).append("Must be an object.")
                else:
                    getattr(data, key).update(value)
            elif key == "source":
                data.source = _scalar(value, key, errors) or data.source
            else:
                _apply(data, key, value, errors, key)
        if "external_id" not in payload and isinstance(payload.get("id"), str | int):
            data.external_id = str(payload["id"])
        consent = payload.get("consent")
        if isinstance(consent, dict):
            data.consents.append(
                ConsentInput(
                    purpose=str(consent.get("purpose") or "marketing"),
                    granted=bool(consent.get("granted", True)),
                    wording_version=str(consent.get("wording_version") or ""),
                    wording=str(consent.get("wording") or ""),
                )
            )
        elif consent is not None:
            errors.setdefault("consent", []).append("Must be an object.")
    if errors:
        raise PayloadInvalid(errors)
    if data.external_id:
        data.external_id = f"{source.slug}:{data.external_id}"[:200]
    return [(data, where)]


def _facebook_leads(payload: Any) -> list[dict]:
    if isinstance(payload, dict) and isinstance(payload.get("field_data"), list):
        return [payload]
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        return [lead for lead in payload["data"] if isinstance(lead, dict)]
    leads = []
    if isinstance(payload, dict) and isinstance(payload.get("entry"), list):
        for entry in payload["entry"]:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value")
                if isinstance(value, dict):
                    leads.append(value)
    return leads


def facebook_inputs(source: WebhookSource, payload: Any) -> list[tuple[LeadInput, dict[str, str]]]:
    leads = _facebook_leads(payload)
    if not leads:
        raise PayloadInvalid(
            {"field_data": ["No lead found: expected field_data, data or entry[].changes[].value."]}
        )
    if len(leads) > MAX_LEADS_PER_DELIVERY:
        raise PayloadInvalid(
            {"data": [f"At most {MAX_LEADS_PER_DELIVERY} leads per request."]}, status=413
        )
    inputs = []
    names = {**FACEBOOK_FIELDS, **{v: k for k, v in source.mapping.items()}}
    for index, lead in enumerate(leads):
        prefix = f"leads.{index}." if len(leads) > 1 else ""
        errors: dict[str, list[str]] = {}
        field_data = lead.get("field_data")
        if not isinstance(field_data, list):
            raise PayloadInvalid(
                {
                    f"{prefix}field_data": [
                        "Missing: this lead has no field_data (fetch it from the Graph API)."
                    ]
                }
            )
        data = LeadInput(channel="webhook", source=source.capture_source, raw=lead)
        where: dict[str, str] = {}
        extra = []
        for position, item in enumerate(field_data):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                errors.setdefault(f"{prefix}field_data.{position}", []).append(
                    "Needs a name and values."
                )
                continue
            values = item.get("values")
            if not isinstance(values, list):
                errors.setdefault(f"{prefix}field_data.{position}.values", []).append(
                    "Must be a list."
                )
                continue
            value = ", ".join(str(v) for v in values if isinstance(v, str | int | float)) or None
            target = names.get(item["name"])
            if target:
                _apply(data, target, value, errors, f"{prefix}field_data.{item['name']}")
                where[target if target != "full_name" else "first_name"] = (
                    f"{prefix}field_data.{item['name']}"
                )
                if target == "full_name":
                    where["last_name"] = where["first_name"]
            elif value:
                extra.append(f"{item['name'].replace('_', ' ').capitalize()}: {value}")
        if errors:
            raise PayloadInvalid(errors)
        if extra:
            data.message = "\n".join(extra)
        lead_id = lead.get("id") or lead.get("leadgen_id")
        if isinstance(lead_id, str | int) and str(lead_id):
            data.external_id = f"facebook:{lead_id}"
        created = lead.get("created_time")
        if isinstance(created, str):
            _apply(
                data,
                "received_at",
                created.replace("+0000", "+00:00"),
                errors,
                f"{prefix}created_time",
            )
        for key in ("ad_id", "form_id", "campaign_id", "adset_id"):
            if lead.get(key):
                data.utm[{"campaign_id": "utm_campaign"}.get(key, f"utm_{key}")] = str(lead[key])
        inputs.append(
            (data, {k: prefix + v if not v.startswith(prefix) else v for k, v in where.items()})
        )
    return inputs


# --- Receiving ------------------------------------------------------------------------------


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise PayloadInvalid({"__all__": ["The body is empty: send a JSON object."]}, status=400)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadInvalid({"__all__": [f"Malformed JSON: {exc}"]}, status=400) from exc


def _lead_body(result) -> dict[str, Any]:
    lead = result.lead
    return {
        "id": str(lead.pk),
        "contact_id": str(lead.contact_id),
        "status": lead.status,
        "duplicate_of": str(lead.duplicate_of_id) if lead.duplicate_of_id else None,
        "created": result.created,
    }


def receive(source: WebhookSource, body: bytes, *, ip: str | None) -> DeliveryResult:
    """Capture the leads of one verified delivery (``verify`` first), all or none."""
    digest = hashlib.sha256(body).hexdigest()
    previous = WebhookDelivery.objects.filter(source=source, body_sha256=digest).first()
    if previous is not None:
        return DeliveryResult(200, {**previous.response, "replayed": True}, replayed=True)
    payload = parse_json(body)
    if source.kind == WebhookSource.Kind.FACEBOOK:
        inputs = facebook_inputs(source, payload)
    else:
        inputs = generic_inputs(source, payload)
    actor = Actor(user=None, channel=Channel.WEBHOOK, ip=ip, label=f"webhook {source.slug}")
    try:
        with transaction.atomic():
            results = []
            for data, where in inputs:
                data.ip = ip
                try:
                    results.append(capture_lead(actor, data))
                except ValidationError as exc:
                    errors: dict[str, list[str]] = {}
                    for name, messages in exc.message_dict.items():
                        errors.setdefault(where.get(name, name), []).extend(messages)
                    raise PayloadInvalid(errors) from exc
            response = {"leads": [_lead_body(r) for r in results]}
            WebhookDelivery.objects.create(
                source=source,
                body_sha256=digest,
                received_at=timezone.now(),
                ip=ip,
                leads=[str(r.lead.pk) for r in results],
                response=response,
            )
            WebhookSource.objects.filter(pk=source.pk).update(last_received_at=timezone.now())
    except IntegrityError:
        # The same body arrived twice at once: the other request recorded it first.
        previous = WebhookDelivery.objects.filter(source=source, body_sha256=digest).first()
        if previous is None:
            raise
        return DeliveryResult(200, {**previous.response, "replayed": True}, replayed=True)
    created = any(r.created for r in results)
    return DeliveryResult(201 if created else 200, response)


@transaction.atomic
def create_source(actor: Actor, **data: Any) -> WebhookSource:
    data["mapping"] = clean_mapping(data.get("mapping"))
    if WebhookSource.objects.filter(slug=data.get("slug")).exists():
        raise ValidationError({"slug": "Another source has this address."})
    source = WebhookSource(secret=generate_secret(), **data)
    source.full_clean()
    source.save()
    audit_log.record(
        actor,
        "webhook_source.created",
        source,
        changes={"slug": [None, source.slug], "kind": [None, source.kind]},
    )
    return source


@transaction.atomic
def update_source(actor: Actor, source: WebhookSource, **data: Any) -> WebhookSource:
    if "mapping" in data:
        data["mapping"] = clean_mapping(data["mapping"])
    source = WebhookSource.objects.select_for_update().get(pk=source.pk)
    before = audit_log.snapshot(
        source, ["name", "kind", "mapping", "lead_source_slug", "is_active"]
    )
    for name, value in data.items():
        if name in {"name", "kind", "mapping", "lead_source_slug", "is_active", "verify_token"}:
            setattr(source, name, value)
    source.full_clean()
    source.save()
    after = audit_log.snapshot(source, ["name", "kind", "mapping", "lead_source_slug", "is_active"])
    changes = audit_log.diff(before, after)
    if changes:
        audit_log.record(actor, "webhook_source.updated", source, changes=changes)
    return source
