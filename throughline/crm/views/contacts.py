"""Contacts: list, detail with the unified timeline, quick activity logging, create/edit/delete."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm import access, services
from throughline.crm.custom_fields import definitions
from throughline.crm.forms import (
    ActivityForm,
    ContactForm,
    TaskForm,
    apply_service_errors,
    user_choices,
)
from throughline.crm.models import Contact, Tag
from throughline.crm.normalize import normalize_phone
from throughline.crm.timeline import timeline_for
from throughline.crm.views.listing import (
    apply_sort,
    match_all_terms,
    paginate,
    parse_uuid,
    query_text,
    render_page_or_partial,
)

CONTACT_SORTS = {
    "name": ("last_name", "first_name", "email"),
    "created": ("created_at",),
    "updated": ("updated_at",),
}
SORT_CHOICES = [
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
]
SEARCH_FIELDS = ("first_name", "last_name", "email", "phone", "company__name")
RESULTS_TARGET = "contact-results"
TIMELINE_TARGET = "timeline-panel"
TIMELINE_LABELS = {
    "note": "Note",
    "call": "Call",
    "email": "E-mail",
    "meeting": "Meeting",
    "task": "Task",
    "consent": "Consent",
    "audit": "Change",
}
DIRECTIONS = {"in": "incoming", "out": "outgoing"}


def _timeline_rows(contact: Contact) -> list[dict]:
    rows = []
    for entry in timeline_for(contact):
        details = []
        direction = entry.extra.get("direction")
        if direction:
            details.append(DIRECTIONS.get(direction, direction))
        seconds = entry.extra.get("duration_seconds")
        if seconds:
            details.append(f"{max(1, round(seconds / 60))} min")
        rows.append(
            {
                "entry": entry,
                "label": TIMELINE_LABELS.get(entry.kind, entry.kind.replace("_", " ").title()),
                "details": ", ".join(details),
            }
        )
    return rows


def _search(queryset, text: str):
    if not text:
        return queryset
    condition = match_all_terms(text, SEARCH_FIELDS)
    # "020 7946 0958" is stored as +442079460958: also match the number as typed.
    try:
        phone = normalize_phone(text, Organization.current().default_phone_region)
    except ValidationError:
        phone = ""
    if phone:
        condition |= Q(phone=phone)
    return queryset.filter(condition)


@requires("crm.view")
def contact_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    contacts = access.contacts_for(user)
    text = query_text(request)
    contacts = _search(contacts, text)

    tag = request.GET.get("tag", "").strip()
    if tag:
        contacts = contacts.filter(tags__name=tag)
    owner = request.GET.get("owner", "")
    if owner == "me":
        contacts = contacts.filter(owner=user)
    elif owner == "none":
        contacts = contacts.filter(owner__isnull=True)
    elif re.fullmatch(r"[0-9]{1,18}", owner):
        contacts = contacts.filter(owner_id=int(owner))
    else:
        owner = ""
    company_id = parse_uuid(request.GET.get("company"))
    if company_id:
        contacts = contacts.filter(company_id=company_id)

    contacts, sort = apply_sort(contacts, request.GET.get("sort", ""), CONTACT_SORTS, "name")
    page = paginate(request, contacts.prefetch_related("tags"))
    own_only = access.own_records_only(user)
    context = {
        "page": page,
        "q": text,
        "sort": sort,
        "sort_choices": SORT_CHOICES,
        "tag": tag,
        "owner": owner,
        "company": str(company_id) if company_id else "",
        "filtered": bool(text or tag or owner or company_id),
        "tags": Tag.objects.filter(contacts__isnull=False).distinct(),
        "owners": [] if own_only else user_choices(),
        "companies": access.companies_for(user)
        .select_related(None)
        .only("id", "name")
        .order_by("name"),
        "can_edit": user.can("crm.edit"),
        "results_target": RESULTS_TARGET,
    }
    return render_page_or_partial(
        request, "crm/contacts/list.html", "crm/contacts/_results.html", RESULTS_TARGET, context
    )


def _detail_context(request: HttpRequest, contact: Contact, bound: ActivityForm | None = None):
    user = request.user
    activity_forms = {kind: ActivityForm(kind=kind) for kind in ActivityForm.QUICK_KINDS}
    if bound is not None:
        activity_forms[bound.kind_value] = bound
    custom = contact.custom or {}
    return {
        "contact": contact,
        "timeline": _timeline_rows(contact),
        "activity_forms": list(activity_forms.values()),
        "open_kind": bound.kind_value if bound is not None else ActivityForm.QUICK_KINDS[0],
        "tasks": access.tasks_for(user)
        .filter(contact=contact, done_at__isnull=True)
        .order_by(F("due_at").asc(nulls_last=True), "created_at"),
        "task_form": TaskForm(user=user),
        "consents": contact.consents.all(),
        "custom_rows": [
            (d.label, d.kind, custom[d.key]) for d in definitions("contact") if d.key in custom
        ],
        "can_edit": user.can("crm.edit"),
        "can_delete": user.can("crm.delete"),
        "timeline_target": TIMELINE_TARGET,
        "now": timezone.now(),
        "next_url": reverse("crm:contact_detail", args=[contact.pk]),
    }


@requires("crm.view")
def contact_detail(request: HttpRequest, pk) -> HttpResponse:
    contact = access.access_contact(request.user, pk)
    return render(request, "crm/contacts/detail.html", _detail_context(request, contact))


@requires("crm.edit")
@require_POST
def contact_log_activity(request: HttpRequest, pk, kind: str) -> HttpResponse:
    """Add a note / log a call / log a meeting.

    With htmx the timeline panel (forms and timeline) is answered and swapped in place; without
    JavaScript it is a normal POST that redirects back to the contact.
    """
    contact = access.access_contact(request.user, pk)
    if kind not in ActivityForm.QUICK_KINDS:
        raise Http404("Unknown kind of activity")
    form = ActivityForm(request.POST, kind=kind)
    if form.is_valid():
        try:
            activity = services.log_activity(
                Actor.from_request(request), contact=contact, **form.service_data()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            done = f"{activity.get_kind_display()} added."
            if request.htmx:
                context = _detail_context(request, contact)
                context["open_kind"] = kind
                context["status_message"] = done
                return render(request, "crm/contacts/_timeline_panel.html", context)
            messages.success(request, done)
            return redirect(reverse("crm:contact_detail", args=[contact.pk]) + "#timeline")
    context = _detail_context(request, contact, bound=form)
    if request.htmx:
        # 200, not 4xx: htmx swaps only successful responses, and the errors must show.
        return render(request, "crm/contacts/_timeline_panel.html", context)
    return render(request, "crm/contacts/detail.html", context)


def _contact_form_page(request, form, contact=None):
    # Errors answer 200 like any re-rendered form: htmx (e.g. hx-boost) swaps only 2xx.
    return render(request, "crm/contacts/form.html", {"form": form, "contact": contact})


@requires("crm.edit")
def contact_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method != "POST":
        initial = {}
        company_id = parse_uuid(request.GET.get("company"))
        if company_id and access.companies_for(user).filter(pk=company_id).exists():
            initial["company"] = company_id
        return _contact_form_page(request, ContactForm(user=user, initial=initial))
    form = ContactForm(request.POST, user=user)
    if form.is_valid():
        try:
            contact = services.create_contact(Actor.from_request(request), **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Contact “{contact}” created.")
            return redirect("crm:contact_detail", pk=contact.pk)
    return _contact_form_page(request, form)


@requires("crm.edit")
def contact_edit(request: HttpRequest, pk) -> HttpResponse:
    user = request.user
    contact = access.access_contact(user, pk)
    if request.method != "POST":
        return _contact_form_page(request, ContactForm(user=user, contact=contact), contact)
    form = ContactForm(request.POST, user=user, contact=contact)
    if form.is_valid():
        try:
            contact = services.update_contact(
                Actor.from_request(request), contact, **form.service_data()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Contact “{contact}” saved.")
            return redirect("crm:contact_detail", pk=contact.pk)
    return _contact_form_page(request, form, contact)


@requires("crm.delete")
def contact_delete(request: HttpRequest, pk) -> HttpResponse:
    contact = access.access_contact(request.user, pk)
    if request.method == "POST":
        name = str(contact)
        services.delete_contact(Actor.from_request(request), contact)
        messages.success(request, f"Contact “{name}” deleted.")
        return redirect("crm:contact_list")
    context = {
        "contact": contact,
        "counts": {
            "activities": contact.activities.count(),
            "tasks": contact.tasks.count(),
            "consents": contact.consents.count(),
        },
    }
    return render(request, "crm/contacts/confirm_delete.html", context)
