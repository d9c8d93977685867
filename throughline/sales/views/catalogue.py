"""The catalogue of products and services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from throughline.core import money
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm.views.listing import match_all_terms, paginate, query_text
from throughline.sales import access
from throughline.sales.forms import CatalogueItemForm
from throughline.sales.models import CatalogueItem
from throughline.sales.services import catalogue as services
from throughline.sales.views.common import add_service_errors


@requires("sales.view")
def catalogue_list(request: HttpRequest) -> HttpResponse:
    items = CatalogueItem.objects.all()
    text = query_text(request)
    if text:
        items = items.filter(match_all_terms(text, ("name", "code", "description")))
    show = request.GET.get("show", "active")
    if show != "all":
        items = items.filter(active=True)
    page = paginate(request, items.order_by("name"))
    return render(
        request,
        "sales/catalogue/list.html",
        {
            "page": page,
            "page_obj": page,
            "q": text,
            "show": show,
            "can_manage": request.user.can("catalogue.manage"),
        },
    )


def _form_data(item: CatalogueItem) -> dict:
    return {
        "name": item.name,
        "code": item.code,
        "kind": item.kind,
        "description": item.description,
        "unit": item.unit,
        "unit_price": money.plain(item.unit_price),
        "currency": item.currency,
        "tax_rate": money.plain(item.tax_rate),
        "tax_category": item.tax_category,
        "active": item.active,
    }


@requires("catalogue.manage")
def catalogue_create(request: HttpRequest) -> HttpResponse:
    form = CatalogueItemForm(
        request.POST or None, initial={"currency": Organization.current().base_currency}
    )
    if request.method == "POST" and form.is_valid():
        try:
            item = services.create_item(Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{item}” added to the catalogue.")
            return redirect("sales:catalogue_list")
    return render(request, "sales/catalogue/form.html", {"form": form})


@requires("catalogue.manage")
def catalogue_edit(request: HttpRequest, pk) -> HttpResponse:
    item = access.access_catalogue_item(request.user, pk)
    form = CatalogueItemForm(request.POST or None, initial=_form_data(item))
    if request.method == "POST" and form.is_valid():
        try:
            item = services.update_item(Actor.from_request(request), item, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{item}” saved.")
            return redirect("sales:catalogue_list")
    return render(request, "sales/catalogue/form.html", {"form": form, "item": item})
