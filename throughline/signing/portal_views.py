"""The signer's pages ``/c/<token>/sign…`` (no login; the personal link is the first key).

The link alone shows who the document is for and asks for a one-time code, sent to the
signer's own address; only a browser that entered that code (holding a signed cookie bound to
this signer, ``ceremony.has_session``) sees the document, consents, signs or declines. A
forwarded link therefore cannot sign. Everything refused is explained on the page and changes
nothing (services.ceremony).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from throughline.core import public_tokens
from throughline.core.access import public
from throughline.core.actor import Actor, client_ip
from throughline.core.models import Channel, Organization
from throughline.signing.forms import CodeForm, ConsentForm, DeclineForm, SignForm
from throughline.signing.models import Signer, SigningRequest
from throughline.signing.services import ceremony, consent, documents, otp
from throughline.signing.services.evidence import Client


class LinkProblem(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def _protect(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of Referer headers, caches and search engines.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _problem(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    return _protect(
        render(
            request,
            "signing/portal/problem.html",
            {"title": title, "text": text, "organization": Organization.current()},
            status=status,
        )
    )


def _signer(request: HttpRequest, token: str) -> Signer:
    try:
        return ceremony.signer_for_token(token)
    except public_tokens.TokenExpired as exc:
        raise LinkProblem(
            _problem(request, 410, "This link has expired", "Ask the sender for a new link.")
        ) from exc
    except public_tokens.TokenError as exc:
        raise LinkProblem(
            _problem(
                request,
                404,
                "Link not found",
                "Check that you copied the whole link from the e-mail. A link stops working "
                "when the document is withdrawn or declined.",
            )
        ) from exc


def _client(request: HttpRequest, signer: Signer) -> Client:
    actor = Actor(
        user=None,
        channel=Channel.PORTAL,
        request_id=getattr(request, "request_id", "") or "",
        ip=client_ip(request),
        label=f"{signer.name} <{signer.email}> (signing link)"[:200],
    )
    return Client(actor=actor, user_agent=request.headers.get("User-Agent", "")[:400])


def signer_view(fn):
    def wrapped(request: HttpRequest, token: str, *args, **kwargs):
        try:
            signer = _signer(request, token)
        except LinkProblem as problem:
            return problem.response
        return _protect(fn(request, token, signer, *args, **kwargs))

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return public(wrapped)


def _page(token: str) -> str:
    return reverse("signing_portal:sign", args=[token])


def _flash(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:  # plain sentences: the client does not think in field names
        messages.error(request, message)


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(len(local) - 1, 2)}@{domain}"


@signer_view
@require_safe
def sign_page(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    client = _client(request, signer)
    ceremony.record_open(client, signer)
    signer.refresh_from_db()
    sign_request: SigningRequest = signer.request
    contract = sign_request.contract
    org = Organization.current()
    context = {
        "token": token,
        "signer": signer,
        "request_": sign_request,
        "contract": contract,
        "organization": org,
        "masked_email": _masked(signer.email),
        "closed": ceremony.closed_reason(sign_request, signer),
        "completed": sign_request.status == SigningRequest.Status.COMPLETED,
        "waiting_for": ceremony.waiting_for(sign_request, signer),
        "session": ceremony.has_session(request, signer),
        "code_form": CodeForm(),
    }
    step = "closed" if context["closed"] else "waiting" if context["waiting_for"] else "code"
    if step == "code" and context["session"]:
        step = "consent" if signer.consented_at is None else "sign"
    if step == "consent":
        context["consent_text"] = consent.wording(sign_request.consent_version, str(org))
        context["consent_form"] = ConsentForm()
    if step == "sign":
        body = documents.render_page_html(contract, signers=_roster(sign_request))
        try:
            context["document_sha256"] = ceremony.show_document(client, signer, shown_html=body)
        except ValidationError as exc:
            context["closed"], step = " ".join(exc.messages), "closed"
        context["document_html"] = body
        context["sign_form"] = SignForm(initial={"name": signer.name})
        context["decline_form"] = DeclineForm()
        context["others"] = sign_request.signers.exclude(pk=signer.pk)
    context["step"] = step
    return render(request, "signing/portal/sign.html", context)


def _roster(sign_request: SigningRequest) -> list[dict]:
    return [{"name": s.name, "email": s.email, "role": s.role} for s in sign_request.signers.all()]


@signer_view
@require_POST
def request_code(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    try:
        otp.request_code(_client(request, signer), signer)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(
            request, f"We sent a code to {_masked(signer.email)}. It is valid for 10 minutes."
        )
    return redirect(_page(token) + "#code")


@signer_view
@require_POST
def verify_code(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    form = CodeForm(request.POST)
    code = form.data.get("code", "")
    try:
        nonce = otp.verify_code(_client(request, signer), signer, code)
    except ValidationError as exc:
        _flash(request, exc)
        return redirect(_page(token) + "#code")
    response = redirect(_page(token))
    response.set_signed_cookie(
        ceremony.session_cookie_name(signer),
        nonce,
        salt=ceremony.session_salt(signer),
        max_age=int(ceremony.SESSION_AGE.total_seconds()),
        path="/c/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


@signer_view
@require_POST
def give_consent(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    if not ceremony.has_session(request, signer):
        messages.error(request, "Enter the code from your e-mail first.")
        return redirect(_page(token))
    form = ConsentForm(request.POST)
    form.is_valid()
    try:
        ceremony.give_consent(
            _client(request, signer), signer, agreed=form.cleaned_data.get("agreed", False)
        )
    except ValidationError as exc:
        _flash(request, exc)
    return redirect(_page(token))


@signer_view
@require_POST
def sign(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form was incomplete; reload the page and sign again.")
        return redirect(_page(token) + "#sign")
    data = form.cleaned_data
    try:
        ceremony.sign(
            _client(request, signer),
            signer,
            document_sha256=data["document_sha256"],
            kind=data["kind"],
            name=data["name"],
            drawing=data["drawing"],
            agreed=data["agreed"],
            session_ok=ceremony.has_session(request, signer),
        )
    except ValidationError as exc:
        _flash(request, exc)
        return redirect(_page(token) + "#sign")
    messages.success(
        request, "Thank you — you have signed. Everyone gets the signed copy by e-mail."
    )
    return redirect(_page(token))


@signer_view
@require_POST
def decline(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    form = DeclineForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        ceremony.decline(
            _client(request, signer),
            signer,
            reason=reason,
            session_ok=ceremony.has_session(request, signer),
        )
    except ValidationError as exc:
        _flash(request, exc)
        return redirect(_page(token) + "#decline")
    messages.info(request, "You declined to sign. The sender has been told.")
    return redirect(_page(token))


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@signer_view
@require_safe
def document_pdf(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    """The exact bytes to be signed (after the code was entered)."""
    if not ceremony.has_session(request, signer):
        return _problem(
            request, 403, "Enter your code first", "Open the link again and enter the code."
        )
    try:
        data = ceremony.download_document(_client(request, signer), signer)
    except ValidationError as exc:
        return _problem(request, 409, "Document unavailable", " ".join(exc.messages))
    return _pdf(data, f"{signer.request.contract.number}.pdf")


@signer_view
@require_safe
def signed_pdf(request: HttpRequest, token: str, signer: Signer) -> HttpResponse:
    """The sealed PDF, for every party, once everyone has signed."""
    sign_request = signer.request
    if sign_request.status != SigningRequest.Status.COMPLETED or not sign_request.sealed_document:
        raise Http404("Not signed by everyone yet")
    with sign_request.sealed_document.open("rb") as handle:
        data = handle.read()
    return _pdf(data, f"{sign_request.contract.number}-signed.pdf")
