"""The CRM's records as workflow subjects, with their relations, owners and setters.

Automation sits to the right of the CRM (DESIGN §2), so it registers the CRM's subjects
itself; apps to *our* right register their own (``sales.deal`` …) in their ``ready()``.
Every change goes through ``throughline.crm.services``.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from throughline.automation.registry import (
    FieldSpec,
    SubjectType,
    register_relation,
    register_setter,
    register_subject,
)
from throughline.core.actor import Actor
from throughline.crm import services as crm
from throughline.crm.models import Activity, Company, Contact, Task


def _url(name: str, obj: Any) -> str:
    try:
        return reverse(name, args=[obj.pk])
    except NoReverseMatch:
        return ""


def _owner_email(obj: Any) -> str:
    return obj.owner.email if getattr(obj, "owner", None) is not None else ""


def _tags(obj: Any) -> list[str]:
    return sorted(tag.name for tag in obj.tags.all())


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


CONTACT = register_subject(
    SubjectType(
        key="crm.contact",
        label="Contact",
        model=Contact,
        fields=_fields(
            FieldSpec("first_name", "text", "First name"),
            FieldSpec("last_name", "text", "Last name"),
            FieldSpec("email", "text", "E-mail"),
            FieldSpec("phone", "text", "Phone"),
            FieldSpec("title", "text", "Job title"),
            FieldSpec(
                "company", "text", "Company", getter=lambda c: c.company.name if c.company else ""
            ),
            FieldSpec("owner", "user", "Owner", getter=_owner_email),
            FieldSpec("tags", "list", "Tags", getter=_tags),
            FieldSpec("created_at", "datetime", "Created"),
        ),
        custom_entity="contact",
        contact_of=lambda c: c,
        owner_of=lambda c: c.owner,
        assign_owner=lambda actor, c, user: crm.update_contact(actor, c, owner=user),
        url_of=lambda c: _url("crm:contact_detail", c),
        queryset=lambda: Contact.objects.select_related("company", "owner"),
    )
)

COMPANY = register_subject(
    SubjectType(
        key="crm.company",
        label="Company",
        model=Company,
        fields=_fields(
            FieldSpec("name", "text", "Name"),
            FieldSpec("domain", "text", "Domain"),
            FieldSpec("website", "text", "Website"),
            FieldSpec("phone", "text", "Phone"),
            FieldSpec("country", "text", "Country"),
            FieldSpec("vat_id", "text", "VAT id"),
            FieldSpec("owner", "user", "Owner", getter=_owner_email),
            FieldSpec("tags", "list", "Tags", getter=_tags),
            FieldSpec("created_at", "datetime", "Created"),
        ),
        custom_entity="company",
        contact_of=lambda c: c.contacts.order_by("created_at").first(),
        owner_of=lambda c: c.owner,
        assign_owner=lambda actor, c, user: crm.update_company(actor, c, owner=user),
        url_of=lambda c: _url("crm:company_detail", c),
        queryset=lambda: Company.objects.select_related("owner"),
    )
)

TASK = register_subject(
    SubjectType(
        key="crm.task",
        label="Task",
        model=Task,
        fields=_fields(
            FieldSpec("title", "text", "Title"),
            FieldSpec("description", "text", "Description"),
            FieldSpec("owner", "user", "Assigned to", getter=_owner_email),
            FieldSpec("due_at", "datetime", "Due"),
            FieldSpec("done", "boolean", "Done", getter=lambda t: t.is_done),
            FieldSpec("done_at", "datetime", "Completed"),
            FieldSpec("source", "text", "Source"),
            FieldSpec("created_at", "datetime", "Created"),
        ),
        contact_of=lambda t: t.contact,
        owner_of=lambda t: t.owner,
        assign_owner=lambda actor, t, user: crm.update_task(actor, t, owner=user),
        queryset=lambda: Task.objects.select_related("owner", "contact"),
    )
)

ACTIVITY = register_subject(
    SubjectType(
        key="crm.activity",
        label="Activity",
        model=Activity,
        fields=_fields(
            FieldSpec("kind", "choice", "Kind", choices=tuple(Activity.Kind.values)),
            FieldSpec("direction", "choice", "Direction", choices=("in", "out", "")),
            FieldSpec("subject", "text", "Subject"),
            FieldSpec("body", "text", "Body"),
            FieldSpec("occurred_at", "datetime", "Happened"),
        ),
        contact_of=lambda a: a.contact,
        owner_of=lambda a: a.contact.owner if a.contact else None,
        queryset=lambda: Activity.objects.select_related("contact"),
    )
)

register_relation("crm.task", "crm.contact", lambda t: t.contact)
register_relation("crm.activity", "crm.contact", lambda a: a.contact)
register_relation("crm.contact", "crm.company", lambda c: c.company)
register_relation("crm.task", "crm.company", lambda t: t.company)


def _set_custom(model_update):
    def setter(actor: Actor, subject: Any, field: str, value: Any) -> Any:
        key = field.removeprefix("custom.")
        return model_update(actor, subject, custom={key: value})

    return setter


def _set_task_done(actor: Actor, task: Task, field: str, value: Any) -> Task:
    done = value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
    return crm.complete_task(actor, task, done=done)


register_setter("crm.contact", "custom.*", _set_custom(crm.update_contact), label="A custom field")
register_setter("crm.company", "custom.*", _set_custom(crm.update_company), label="A custom field")
register_setter("crm.task", "done", _set_task_done, label="Done", value_type="boolean")
