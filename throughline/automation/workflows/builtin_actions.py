"""The actions automation ships with. Each acts through the owning app's services.

Every function runs inside its step's transaction (engine): what it writes commits with the
step's SUCCEEDED status, once. E-mail is queued in the messaging ledger with the step's
idempotency key and sent by messaging's own job.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError

from throughline.automation import notifications, registry
from throughline.automation.business_days import Calendar
from throughline.automation.registry import ActionContext, Param, register_action
from throughline.automation.workflows.conditions import ConditionValueError, coerce, field_specs
from throughline.core.models import User


def _subject_spec(ctx: ActionContext) -> registry.SubjectType | None:
    return registry.subject_type(ctx.subject_type) if ctx.subject_type else None


def _contact(ctx: ActionContext) -> Any:
    spec = _subject_spec(ctx)
    if spec is None or spec.contact_of is None or ctx.subject is None:
        return None
    return spec.contact_of(ctx.subject)


def _owner(ctx: ActionContext) -> User | None:
    spec = _subject_spec(ctx)
    if spec is None or spec.owner_of is None or ctx.subject is None:
        return None
    return spec.owner_of(ctx.subject)


def resolve_user(ctx: ActionContext, value: str | None) -> User | None:
    if not value:
        return None
    if value == "subject_owner":
        return _owner(ctx)
    user = User.objects.filter(email__iexact=value, is_active=True).first()
    if user is None:
        raise ValidationError(f"No active user {value!r}.")
    return user


# --- e-mail ---------------------------------------------------------------------------------


def send_email(ctx: ActionContext, params: dict) -> dict:
    from throughline.automation.workflows.engine import merge_context
    from throughline.messaging.services import queue_templated_email

    contact = _contact(ctx)
    if params.get("to") == "owner":
        owner = _owner(ctx)
        address = owner.email if owner is not None else ""
        recipient_contact = None
    else:
        address = contact.email if contact is not None else ""
        recipient_contact = contact
    if not address:
        return {"status": "skipped", "reason": "no e-mail address to send to"}
    message = queue_templated_email(
        ctx.actor,
        params["template"],
        to=address,
        context=merge_context(ctx.subject_type, ctx.subject, ctx.event),
        contact=recipient_contact,
        source=ctx.source,
        idempotency_key=ctx.idempotency_key,
    )
    return {
        "message_id": str(message.pk),
        "to": message.to_email,
        "status": message.status,
        "reason": message.status_reason,
    }


register_action(
    "email.send",
    (
        Param("template", "template", "E-mail template", required=True),
        Param(
            "to",
            "choice",
            "Send to",
            default="contact",
            choices=("contact", "owner"),
            help="The record's contact, or its owner",
        ),
    ),
    send_email,
    label="Send an e-mail template",
    needs_contact=True,
    describe=lambda p: f"Send “{p.get('template')}” to the {p.get('to', 'contact')}",
)


# --- tasks ----------------------------------------------------------------------------------


def create_task(ctx: ActionContext, params: dict) -> dict:
    from throughline.crm import services as crm
    from throughline.crm.models import Company

    due_at = None
    if params.get("due_in_business_days"):
        due_at = Calendar.for_organization().add_business_days(
            ctx.now, params["due_in_business_days"]
        )
    elif params.get("due_in_hours"):
        due_at = ctx.now + dt.timedelta(hours=params["due_in_hours"])
    owner = resolve_user(ctx, params.get("owner"))
    contact = _contact(ctx)
    company = ctx.subject if isinstance(ctx.subject, Company) else None
    task = crm.create_task(
        ctx.actor,
        title=params["title"],
        description=params.get("description", ""),
        owner=owner,
        contact=contact,
        company=company,
        due_at=due_at,
        source=ctx.source,
    )
    return {
        "task_id": str(task.pk),
        "title": task.title,
        "owner": task.owner.email if task.owner else "",
        "due_at": task.due_at,
    }


register_action(
    "task.create",
    (
        Param("title", "text", "Title", required=True, help="Merge fields: {{ subject }}"),
        Param("description", "longtext", "Description"),
        Param("owner", "user", "Assign to", default="subject_owner"),
        Param("due_in_business_days", "integer", "Due in business days", min=0, max=260),
        Param("due_in_hours", "integer", "…or due in hours", min=0, max=24 * 90),
    ),
    create_task,
    label="Create a task",
    emits=("task.created",),
    describe=lambda p: f"Create the task “{p.get('title')}”",
)


# --- owner, fields --------------------------------------------------------------------------


def assign_owner(ctx: ActionContext, params: dict) -> dict:
    spec = _subject_spec(ctx)
    if spec is None or spec.assign_owner is None:
        raise ValidationError(f"{ctx.subject_type} has no owner to assign.")
    user = resolve_user(ctx, params["user"])
    before = _owner(ctx)
    spec.assign_owner(ctx.actor, ctx.subject, user)
    return {"owner": user.email if user else "", "before": before.email if before else ""}


def _check_assignable(params: dict, subject_type: str) -> list[str]:
    spec = registry.subject_type(subject_type)
    if spec is None or spec.assign_owner is None:
        return [f"a {subject_type or 'workflow without a subject'} has no owner to assign"]
    if params.get("user") == "subject_owner":
        return ["user: choose a person (the owner is what this step changes)"]
    return []


register_action(
    "owner.assign",
    (Param("user", "user", "New owner", required=True),),
    assign_owner,
    label="Assign an owner",
    emits={"crm.contact": ("contact.updated",), "crm.company": ("company.updated",)},
    check=_check_assignable,
    describe=lambda p: f"Make {p.get('user')} the owner",
)


def set_field(ctx: ActionContext, params: dict) -> dict:
    setter = registry.setter_for(ctx.subject_type, params["field"])
    if setter is None:
        raise ValidationError(f"{params['field']} cannot be changed on {ctx.subject_type}.")
    spec = field_specs(ctx.subject_type).get(params["field"])
    before = spec.value_of(ctx.subject) if spec else None
    setter.fn(ctx.actor, ctx.subject, params["field"], params["value"])
    return {"field": params["field"], "before": before, "after": params["value"]}


def _check_value(params: dict, subject_type: str) -> list[str]:
    field = params.get("field", "")
    spec = field_specs(subject_type).get(field)
    setter = registry.setter_for(subject_type, field)
    type_ = spec.type if spec else (setter.value_type if setter else "text")
    choices = (spec.choices if spec else ()) or (setter.choices if setter else ())
    value = params.get("value")
    try:
        coerce(value, type_)
    except ConditionValueError as exc:
        return [f"value: {field!r} {exc}, not {value!r}"]
    if choices and value not in choices:
        return [f"value: {value!r} is not a choice of {field!r} ({', '.join(choices)})"]
    return []


register_action(
    "field.set",
    (
        Param("field", "setter_field", "Field", required=True),
        Param("value", "any", "New value", required=True),
    ),
    set_field,
    label="Change a status or field",
    emits={
        "crm.contact": ("contact.updated",),
        "crm.company": ("company.updated",),
        "crm.task": ("task.completed",),
    },
    check=_check_value,
    describe=lambda p: f"Set {p.get('field')} to {p.get('value')!r}",
)


# --- sequences ------------------------------------------------------------------------------


def enrol(ctx: ActionContext, params: dict) -> dict:
    from throughline.automation.models import Sequence
    from throughline.automation.sequences import services as sequences

    contact = _contact(ctx)
    if contact is None:
        return {"status": "skipped", "reason": "no contact to enrol"}
    sequence = Sequence.objects.get(key=params["sequence"])
    about = ctx.subject_type if ctx.subject is not None and ctx.subject is not contact else ""
    enrollment, created = sequences.enrol(
        ctx.actor,
        sequence,
        contact,
        subject_type=about,
        subject_id=str(ctx.subject.pk) if about else "",
        source=ctx.source,
    )
    return {"enrollment_id": str(enrollment.pk), "status": "enrolled" if created else "already"}


register_action(
    "sequence.enrol",
    (Param("sequence", "sequence", "Sequence", required=True),),
    enrol,
    label="Enrol in a sequence",
    needs_contact=True,
    describe=lambda p: f"Enrol in the sequence “{p.get('sequence')}”",
)


def unenrol(ctx: ActionContext, params: dict) -> dict:
    from throughline.automation.sequences import services as sequences

    contact = _contact(ctx)
    if contact is None:
        return {"stopped": 0}
    key = None if params["sequence"] == "*" else params["sequence"]
    stopped = sequences.remove(ctx.actor, contact, sequence_key=key)
    return {"stopped": stopped}


register_action(
    "sequence.remove",
    (
        Param(
            "sequence",
            "sequence",
            "Sequence",
            required=True,
            choices=("*",),
            help="A sequence key, or * for every sequence",
        ),
    ),
    unenrol,
    label="Remove from a sequence",
    needs_contact=True,
    describe=lambda p: (
        f"Remove from {'every sequence' if p.get('sequence') == '*' else p.get('sequence')}"
    ),
)


# --- notify ---------------------------------------------------------------------------------


def notify_user(ctx: ActionContext, params: dict) -> dict:
    user = resolve_user(ctx, params["user"])
    if user is None:
        return {"status": "skipped", "reason": "the record has no owner to notify"}
    spec = _subject_spec(ctx)
    url = spec.url_of(ctx.subject) if (spec and spec.url_of and ctx.subject is not None) else ""
    notification = notifications.notify(
        user,
        params["title"],
        params.get("message", ""),
        url=url,
        email=params.get("email", True),
        dedupe_key=ctx.idempotency_key,
        actor=ctx.actor,
    )
    return {"user": user.email, "notification_id": notification.pk if notification else None}


register_action(
    "user.notify",
    (
        Param("user", "user", "Who", required=True, default="subject_owner"),
        Param("title", "text", "Title", required=True),
        Param("message", "longtext", "Message"),
        Param("email", "boolean", "Also by e-mail", default=True),
    ),
    notify_user,
    label="Notify a user",
    describe=lambda p: f"Notify {p.get('user')}: “{p.get('title')}”",
)


# --- wait -----------------------------------------------------------------------------------

WAIT_MODES = ("minutes", "hours", "days", "business_days", "until_field")


def _check_wait(params: dict, subject_type: str) -> list[str]:
    duration = [m for m in ("minutes", "hours", "days") if params.get(m)]
    modes = (["duration"] if duration else []) + [
        m for m in ("business_days", "until_field") if params.get(m)
    ]
    if len(modes) != 1:
        return ["give a duration, business days, or a date field to wait until (one of them)"]
    if params.get("at"):
        try:
            dt.time.fromisoformat(params["at"])
        except ValueError:
            return [f"at: {params['at']!r} is not a time (HH:MM)"]
    return []


def _describe_wait(p: dict) -> str:
    if p.get("until_field"):
        offset = p.get("offset_days") or 0
        shift = f" {offset:+d} day(s)" if offset else ""
        return f"Wait until {p['until_field']}{shift}"
    if p.get("business_days"):
        return f"Wait {p['business_days']} business day(s)"
    parts = [f"{p[k]} {k}" for k in ("days", "hours", "minutes") if p.get(k)]
    return "Wait " + ", ".join(parts)


register_action(
    "wait",
    (
        Param("days", "integer", "Days", min=0, max=365),
        Param("hours", "integer", "Hours", min=0, max=24 * 365),
        Param("minutes", "integer", "Minutes", min=0, max=60 * 24 * 365),
        Param("business_days", "integer", "…or business days", min=0, max=260),
        Param("until_field", "date_field", "…or until the date in"),
        Param(
            "offset_days", "integer", "Days before (−) or after (+) that date", min=-365, max=365
        ),
        Param("at", "text", "At (for a date without a time)", help="HH:MM, default 09:00"),
    ),
    None,
    label="Wait",
    check=_check_wait,
    describe=_describe_wait,
    is_wait=True,
)
