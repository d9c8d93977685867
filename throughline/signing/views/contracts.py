"""Contracts in the staff UI: list, make one from an accepted proposal, signers, send, void,
the PDF and the evidence trail.

TRICKY: these pages show each signer's progress and the evidence, and never a signer's link or
code — neither exists anywhere staff could read it (services.notify).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.crm.models import Contact
from throughline.crm.views.listing import paginate, query_text, render_page_or_partial
from throughline.sales import access as sales_access
from throughline.sales.views.common import flash_errors
from throughline.signing import access
from throughline.signing.forms import ContractCreateForm, ContractEditForm, SendForm, VoidForm
from throughline.signing.models import Contract, SignatureEvidence, Signer, SigningSettings
from throughline.signing.services import contracts, documents, evidence

RESULTS_TARGET = "contract-results"


@requires("signing.view")
def contract_list(request: HttpRequest) -> HttpResponse:
    items = access.contracts_for(request.user)
    text = query_text(request)
    if text:
        from throughline.crm.views.listing import match_all_terms

        items = items.filter(match_all_terms(text, ("number", "title", "deal__title")))
    status = request.GET.get("status", "")
    if status in Contract.Status.values:
        items = items.filter(status=status)
    else:
        status = ""
    page = paginate(request, items.order_by("-created_at"))
    return render_page_or_partial(
        request,
        "signing/contracts/list.html",
        "signing/contracts/_results.html",
        RESULTS_TARGET,
        {
            "page": page,
            "q": text,
            "status": status,
            "statuses": Contract.Status.choices,
            "results_target": RESULTS_TARGET,
            "filtered": bool(text or status),
        },
    )


@requires("signing.send")
def contract_new(request: HttpRequest, proposal: str) -> HttpResponse:
    found = sales_access.access_proposal(request.user, proposal)
    options = SigningSettings.current()
    form = ContractCreateForm(
        request.POST or None,
        initial={"kind": options.document_kind, "template": options.default_template},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contract = contracts.create_contract(
                Actor.from_request(request),
                found,
                kind=form.cleaned_data["kind"],
                template=form.cleaned_data["template"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Contract {contract.number} drafted.")
            return redirect("signing:contract_detail", contract.pk)
    existing = Contract.objects.filter(proposal=found).order_by("-created_at")
    return render(
        request,
        "signing/contracts/new.html",
        {"proposal": found, "form": form, "existing": existing},
    )


def _plan_rows(contract: Contract) -> list[dict]:
    """The planned signers, and the deal's other contacts who could sign."""
    plan = {}
    for entry in contract.signer_plan:
        if entry.get("contact"):
            plan[("contact", str(entry["contact"]))] = entry.get("order", 1)
        elif entry.get("user"):
            plan[("user", str(entry["user"]))] = entry.get("order", 1)
    deal = contract.deal
    contacts = Contact.objects.exclude(email="")
    if deal.company_id:
        contacts = contacts.filter(company_id=deal.company_id)
    else:
        contacts = contacts.filter(pk__in=[deal.contact_id, contract.proposal.contact_id])
    rows = []
    for contact in contacts.order_by("last_name", "first_name")[:50]:
        key = ("contact", str(contact.pk))
        rows.append(
            {
                "key": f"contact:{contact.pk}",
                "label": f"{contact} <{contact.email}>",
                "role": "Client",
                "checked": key in plan,
                "order": plan.get(key, 1),
            }
        )
    for user in User.objects.filter(is_active=True).order_by("email")[:50]:
        key = ("user", str(user.pk))
        if key in plan or user.can("signing.send"):
            rows.append(
                {
                    "key": f"user:{user.pk}",
                    "label": f"{user.display_name} <{user.email}>",
                    "role": "Countersigner",
                    "checked": key in plan,
                    "order": plan.get(key, 2),
                }
            )
    return rows


@requires("signing.view")
def contract_detail(request: HttpRequest, pk) -> HttpResponse:
    contract = access.access_contract(request.user, pk)
    current = contract.current_request()
    signers = list(current.signers.all()) if current else []
    rows = (
        list(SignatureEvidence.objects.filter(request=current).select_related("signer"))
        if current
        else []
    )
    chain_ok, chain_head = evidence.verify(current) if current else (True, "")
    context = {
        "contract": contract,
        "current": current,
        "requests": contract.requests.all(),
        "signers": signers,
        "evidence_rows": rows,
        "chain_ok": chain_ok,
        "chain_head": chain_head,
        "can_send": request.user.can("signing.send"),
        "edit_form": ContractEditForm(
            initial={
                "title": contract.title,
                "template": contract.template_version.template
                if contract.template_version
                else None,
                "sequential": contract.sequential,
            }
        ),
        "plan_rows": _plan_rows(contract) if contract.is_editable else [],
        "send_form": SendForm(initial={"expires_in_days": SigningSettings.current().link_days}),
        "void_form": VoidForm(),
    }
    return render(request, "signing/contracts/detail.html", context)


@requires("signing.send")
@require_POST
def contract_edit(request: HttpRequest, pk) -> HttpResponse:
    contract = access.access_contract(request.user, pk)
    form = ContractEditForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the title and the template.")
        return redirect("signing:contract_detail", contract.pk)
    plan = []
    for key in request.POST.getlist("signer"):
        kind, _, ident = key.partition(":")
        if kind not in {"contact", "user"} or not ident:
            continue
        plan.append({kind: ident, "order": request.POST.get(f"order-{key}") or 1})
    data = {
        "title": form.cleaned_data["title"],
        "sequential": form.cleaned_data["sequential"],
        "signers": plan,
    }
    if form.cleaned_data["template"] is not None:
        data["template"] = form.cleaned_data["template"]
    try:
        contracts.update_contract(Actor.from_request(request), contract, **data)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "Contract updated.")
    return redirect("signing:contract_detail", contract.pk)


@requires("signing.send")
@require_POST
def contract_send(request: HttpRequest, pk) -> HttpResponse:
    contract = access.access_contract(request.user, pk)
    form = SendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the message and the number of days.")
        return redirect("signing:contract_detail", contract.pk)
    try:
        contracts.send_contract(
            Actor.from_request(request),
            contract,
            message=form.cleaned_data["message"],
            expires_in_days=form.cleaned_data["expires_in_days"],
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "Sent for signature. Each signer gets a personal link by e-mail.")
    return redirect("signing:contract_detail", contract.pk)


@requires("signing.send")
@require_POST
def contract_void(request: HttpRequest, pk) -> HttpResponse:
    contract = access.access_contract(request.user, pk)
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the contract is voided.")
        return redirect("signing:contract_detail", contract.pk)
    try:
        contracts.void_contract(Actor.from_request(request), contract, form.cleaned_data["reason"])
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "Contract voided. The signers' links no longer work.")
    return redirect("signing:contract_detail", contract.pk)


def pdf_response(data: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def contract_pdf_bytes(contract: Contract) -> tuple[bytes, str]:
    """The sealed PDF when signed, else the document as sent, else a draft preview."""
    current = contract.current_request()
    if current is not None and current.sealed_document:
        with current.sealed_document.open("rb") as handle:
            return handle.read(), f"{contract.number}-signed.pdf"
    if current is not None and contract.status == Contract.Status.SENT:
        with current.document.open("rb") as handle:
            return handle.read(), f"{contract.number}.pdf"
    return documents.render_pdf(contract), f"{contract.number}-draft.pdf"


@requires("signing.view")
def contract_pdf(request: HttpRequest, pk) -> HttpResponse:
    contract = access.access_contract(request.user, pk)
    data, name = contract_pdf_bytes(contract)
    return pdf_response(data, name)


@requires("signing.view")
def contract_evidence(request: HttpRequest, pk) -> HttpResponse:
    contract = access.access_contract(request.user, pk)
    current = contract.current_request()
    if current is None:
        raise Http404("Not sent yet")
    response = HttpResponse(
        json.dumps(evidence.as_json(current), indent=2, ensure_ascii=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="{contract.number}-evidence.json"'
    return response


@requires("signing.view")
def signer_signature(request: HttpRequest, pk, signer) -> HttpResponse:
    """A signer's adopted signature image (after they signed)."""
    contract = access.access_contract(request.user, pk)
    found = Signer.objects.filter(pk=signer, request__contract=contract).first()
    if found is None or not found.signature_png:
        raise Http404("No signature")
    return HttpResponse(bytes(found.signature_png), content_type="image/png")
