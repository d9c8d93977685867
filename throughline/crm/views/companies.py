"""Companies: list, detail (its contacts, activities and open tasks), create/edit/delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm import access, services
from throughline.crm.custom_fields import definitions
from throughline.crm.forms import CompanyForm, apply_service_errors
from throughline.crm.models import Activity
from throughline.crm.views.listing import (
    apply_sort,
    match_all_terms,
    paginate,
    query_text,
    render_page_or_partial,
)

COMPANY_SORTS = {"name": ("name",), "created": ("created_at",), "updated": ("updated_at",)}
SORT_CHOICES = [
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
]
SEARCH_FIELDS = ("name", "domain", "website", "phone", "vat_id")
RESULTS_TARGET = "company-results"
DETAIL_LIMIT = 50


def _visible_contacts_filter(user) -> Q:
    """Count only the contacts this user could open (sales limited to their own)."""
    if access.own_records_only(user):
        return Q(contacts__owner=user)
    return Q()


@requires("crm.view")
def company_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    companies = access.companies_for(user)
    text = query_text(request)
    if text:
        companies = companies.filter(match_all_terms(text, SEARCH_FIELDS))
    companies = companies.annotate(
        contact_count=Count("contacts", filter=_visible_contacts_filter(user), distinct=True)
    )
    companies, sort = apply_sort(companies, request.GET.get("sort", ""), COMPANY_SORTS, "name")
    context = {
        "page": paginate(request, companies),
        "q": text,
        "sort": sort,
        "sort_choices": SORT_CHOICES,
        "filtered": bool(text),
        "can_edit": user.can("crm.edit"),
        "results_target": RESULTS_TARGET,
    }
    return render_page_or_partial(
        request, "crm/companies/list.html", "crm/companies/_results.html", RESULTS_TARGET, context
    )


@requires("crm.view")
def company_detail(request: HttpRequest, pk) -> HttpResponse:
    user = request.user
    company = access.access_company(user, pk)
    contacts = access.contacts_for(user).filter(company=company)
    # Activities of contacts this user may not open stay hidden here too.
    activities = (
        Activity.objects.filter(company=company)
        .filter(Q(contact__isnull=True) | Q(contact__in=access.contacts_for(user).values("pk")))
        .select_related("contact", "author")
        .order_by("-occurred_at")
    )
    custom = company.custom or {}
    context = {
        "company": company,
        # Records also arrive through the API and imports: link only to http(s) addresses.
        "website_url": company.website
        if company.website.lower().startswith(("http://", "https://"))
        else "",
        "contacts": contacts.order_by("last_name", "first_name", "pk")[:DETAIL_LIMIT],
        "contact_count": contacts.count(),
        "activities": activities[:DETAIL_LIMIT],
        "tasks": access.tasks_for(user)
        .filter(company=company, done_at__isnull=True)
        .order_by(F("due_at").asc(nulls_last=True), "created_at"),
        "custom_rows": [
            (d.label, d.kind, custom[d.key]) for d in definitions("company") if d.key in custom
        ],
        "detail_limit": DETAIL_LIMIT,
        "can_edit": user.can("crm.edit"),
        "can_delete": user.can("crm.delete"),
    }
    return render(request, "crm/companies/detail.html", context)


def _company_form_page(request, form, company=None):
    # Errors answer 200 like any re-rendered form: htmx (e.g. hx-boost) swaps only 2xx.
    return render(request, "crm/companies/form.html", {"form": form, "company": company})


@requires("crm.edit")
def company_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method != "POST":
        return _company_form_page(request, CompanyForm(user=user))
    form = CompanyForm(request.POST, user=user)
    if form.is_valid():
        try:
            company = services.create_company(Actor.from_request(request), **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Company “{company}” created.")
            return redirect("crm:company_detail", pk=company.pk)
    return _company_form_page(request, form)


@requires("crm.edit")
def company_edit(request: HttpRequest, pk) -> HttpResponse:
    user = request.user
    company = access.access_company(user, pk)
    if request.method != "POST":
        return _company_form_page(request, CompanyForm(user=user, company=company), company)
    form = CompanyForm(request.POST, user=user, company=company)
    if form.is_valid():
        try:
            company = services.update_company(
                Actor.from_request(request), company, **form.service_data()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Company “{company}” saved.")
            return redirect("crm:company_detail", pk=company.pk)
    return _company_form_page(request, form, company)


@requires("crm.delete")
def company_delete(request: HttpRequest, pk) -> HttpResponse:
    company = access.access_company(request.user, pk)
    if request.method == "POST":
        name = str(company)
        services.delete_company(Actor.from_request(request), company)
        messages.success(request, f"Company “{name}” deleted.")
        return redirect("crm:company_list")
    # Contacts and their notes/tasks are kept (unlinked); what was filed only under the
    # company itself is deleted with it (crm.services.delete_company). Say so before asking.
    context = {
        "company": company,
        "counts": {
            "contacts": company.contacts.count(),
            "activities": company.activities.filter(contact__isnull=True).count(),
            "tasks": company.tasks.filter(contact__isnull=True).count(),
        },
    }
    return render(request, "crm/companies/confirm_delete.html", context)
