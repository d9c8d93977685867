"""Public channel endpoints (no login): forms at ``/f/<slug>`` and the ``/hooks/…`` receivers.

The forms are CSRF-exempt on purpose: the embed snippet posts from the business's own site
and the iframe lives in a third-party context without our cookies. Their protection is the
signed form token, the honeypot, the minimum fill time and the per-IP limit (``forms.py``),
and what they can do is only what any visitor may: send an inquiry.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from throughline.core.access import public
from throughline.core.actor import Actor, client_ip
from throughline.core.models import Channel
from throughline.intake.channels import calls, email_inbound, ratelimit, webhooks
from throughline.intake.channels import forms as intake_forms
from throughline.intake.channels.http import BodyTooLarge, error_dict, problem, read_body
from throughline.intake.channels.models import (
    InboundMailbox,
    IntakeForm,
    WebhookSource,
    token_digest,
)

logger = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
HOOK_RATE = "120/m"  # per source and IP: generous for real senders, a wall for floods
UTM_KEYS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
)


def _form_or_404(slug: str) -> IntakeForm:
    intake_form = IntakeForm.objects.filter(slug=slug, is_active=True).first()
    if intake_form is None:
        raise Http404("No such form")
    return intake_form


def _utm(request: HttpRequest, data) -> dict[str, str]:
    found = {}
    for key in UTM_KEYS:
        value = data.get(key) or request.GET.get(key)
        if isinstance(value, str) and value.strip():
            found[key] = value.strip()[:300]
    return found


def _limited(request: HttpRequest, intake_form: IntakeForm) -> ratelimit.Limited | None:
    return ratelimit.hit(
        request, f"form:{intake_form.slug}", f"{intake_form.submissions_per_hour}/h"
    )


def _frame_headers(response: HttpResponse, intake_form: IntakeForm) -> HttpResponse:
    ancestors = " ".join(["'self'", *intake_form.allowed_origins])
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    return response


def _render_form(
    request, intake_form, form, *, embed: bool, status: int = 200, problem_text: str = ""
):
    token = intake_forms.issue_token(intake_form)
    context = {
        "intake_form": intake_form,
        "form": form,
        "token": token,
        "token_field": intake_forms.TOKEN_FIELD,
        "honeypot_field": intake_forms.HONEYPOT_FIELD,
        "embed": embed,
        "problem": problem_text,
        "action": request.path,
        "utm": _utm(request, request.POST if request.method == "POST" else request.GET),
    }
    response = render(request, "intake_channels/public/form.html", context, status=status)
    return _frame_headers(response, intake_form) if embed else response


def _thank_you(request, intake_form, *, embed: bool):
    if intake_form.redirect_url and not embed:
        return HttpResponseRedirect(intake_form.redirect_url, status=303)
    response = render(
        request,
        "intake_channels/public/thank_you.html",
        {"intake_form": intake_form, "embed": embed},
    )
    return _frame_headers(response, intake_form) if embed else response


def _form_view(request: HttpRequest, slug: str, *, embed: bool) -> HttpResponse:
    intake_form = _form_or_404(slug)
    if request.method == "GET":
        return _render_form(request, intake_form, intake_forms.PublicForm(intake_form), embed=embed)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_FORM_BYTES:
        return render(
            request,
            "intake_channels/public/problem.html",
            {
                "intake_form": intake_form,
                "message": "The form's content is too large.",
                "embed": embed,
            },
            status=413,
        )
    limited = _limited(request, intake_form)
    if limited is not None:
        response = render(
            request,
            "intake_channels/public/problem.html",
            {
                "intake_form": intake_form,
                "embed": embed,
                "message": "Too many submissions from your network. Please try again in "
                f"{max(1, limited.retry_after // 60)} minutes.",
            },
            status=429,
        )
        response["Retry-After"] = str(limited.retry_after)
        return response
    data = request.POST
    try:
        intake_forms.submit(
            intake_form,
            data,
            ip=client_ip(request),
            referrer=request.headers.get("Referer", "")[:1000],
            utm=_utm(request, data),
        )
    except intake_forms.FormRejected as exc:
        form = intake_forms.PublicForm(intake_form, initial=_initial(intake_form, data))
        return _render_form(
            request, intake_form, form, embed=embed, status=exc.status, problem_text=exc.message
        )
    except intake_forms.FormInvalid as exc:
        form = intake_forms.PublicForm(intake_form, data)
        form.is_valid()
        for key, messages in exc.errors.items():
            target = key if key in form.fields else None
            for message in messages:
                if target is None or message not in form.errors.get(target, []):
                    form.add_error(target, message)
        return _render_form(request, intake_form, form, embed=embed, status=400)
    return _thank_you(request, intake_form, embed=embed)


def _initial(intake_form: IntakeForm, data) -> dict:
    """What the visitor typed, to show again after a refused submission."""
    return {f.key: data.get(f.key) for f in intake_forms.fields_of(intake_form) if f.key in data}


@public
@csrf_exempt
@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _form_view(request, slug, embed=False)


@public
@csrf_exempt
@xframe_options_exempt  # frame-ancestors limits embedding to the form's allowed origins
@require_http_methods(["GET", "POST"])
def form_embed(request: HttpRequest, slug: str) -> HttpResponse:
    return _form_view(request, slug, embed=True)


# --- JSON variant ---------------------------------------------------------------------------


def _cors(request: HttpRequest, response: HttpResponse, intake_form: IntakeForm) -> HttpResponse:
    origin = request.headers.get("Origin", "").rstrip("/").lower()
    if origin and origin in intake_form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Vary"] = "Origin"
    return response


def form_definition(intake_form: IntakeForm) -> dict:
    form = intake_forms.PublicForm(intake_form)
    fields = []
    for f in intake_forms.fields_of(intake_form):
        entry = {
            "key": f.key,
            "label": str(form.fields[f.key].label),
            "kind": f.kind,
            "required": f.required,
            "help_text": f.help_text,
        }
        if f.kind == f.Kind.CHOICE:
            entry["choices"] = [str(c) for c in f.choices]
        if f.kind == f.Kind.CONSENT and f.key in form.wordings:
            entry["wording_version"] = form.wordings[f.key].code
        fields.append(entry)
    return {
        "slug": intake_form.slug,
        "title": intake_form.title,
        "intro": intake_form.intro,
        "submit_label": intake_form.submit_label,
        "fields": fields,
        "token_field": intake_forms.TOKEN_FIELD,
        "token": intake_forms.issue_token(intake_form),
        "honeypot_field": intake_forms.HONEYPOT_FIELD,
        "min_fill_seconds": intake_form.min_fill_seconds,
    }


@public
@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def form_json(request: HttpRequest, slug: str) -> HttpResponse:
    """``GET``: the definition and a fresh token; ``POST`` a JSON object of answers."""
    intake_form = IntakeForm.objects.filter(slug=slug, is_active=True).first()
    if intake_form is None:
        return problem(404, f"There is no form {slug!r}.")
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204), intake_form)
    if request.method == "GET":
        return _cors(request, JsonResponse(form_definition(intake_form)), intake_form)
    response = _json_submit(request, intake_form)
    return _cors(request, response, intake_form)


def _json_submit(request: HttpRequest, intake_form: IntakeForm) -> HttpResponse:
    limited = _limited(request, intake_form)
    if limited is not None:
        return problem(
            429,
            "Too many submissions from your network.",
            headers={"Retry-After": str(limited.retry_after)},
        )
    try:
        body = read_body(request, MAX_FORM_BYTES)
    except BodyTooLarge as exc:
        return problem(413, str(exc))
    if request.content_type != "application/json":
        return problem(415, "Send the answers as application/json.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return problem(400, f"Malformed JSON: {exc}")
    if not isinstance(data, dict):
        return problem(400, "Send one JSON object of answers by field key.")
    type_errors = {
        key: ["Must be text, a number or true/false."]
        for key, value in data.items()
        if value is not None and not isinstance(value, str | int | float | bool)
    }
    if type_errors:
        return problem(422, "Some answers have the wrong type.", type_errors)
    values = {k: (v if isinstance(v, bool) or v is None else str(v)) for k, v in data.items()}
    try:
        result, _ = intake_forms.submit(
            intake_form,
            values,
            ip=client_ip(request),
            referrer=str(data.get("referrer") or request.headers.get("Referer", ""))[:1000],
            utm=_utm(request, data),
        )
    except intake_forms.FormRejected as exc:
        return problem(exc.status, exc.message, code=exc.code)
    except intake_forms.FormInvalid as exc:
        return problem(422, "Some answers need attention.", exc.errors)
    return JsonResponse(
        {
            "ok": True,
            "lead_id": str(result.lead.pk),
            "message": intake_form.thank_you_text,
            "redirect_url": intake_form.redirect_url or None,
        },
        status=201 if result.created else 200,
    )


# --- Hooks ----------------------------------------------------------------------------------


def _hook_limited(request: HttpRequest, group: str) -> HttpResponse | None:
    limited = ratelimit.hit(request, group, HOOK_RATE)
    if limited is None:
        return None
    return problem(429, "Too many requests.", headers={"Retry-After": str(limited.retry_after)})


@public
@csrf_exempt
@require_http_methods(["GET", "POST"])
def lead_hook(request: HttpRequest, source: str) -> HttpResponse:
    """``POST /hooks/leads/<source>``: signed leads; ``GET``: the verification challenge."""
    hook = WebhookSource.objects.filter(
        slug=source,
        is_active=True,
        kind__in=[WebhookSource.Kind.GENERIC, WebhookSource.Kind.FACEBOOK],
    ).first()
    if hook is None:
        return problem(404, f"There is no lead source {source!r}.")
    if request.method == "GET":
        answer = webhooks.challenge(hook, request.GET)
        if answer is None:
            return problem(403, "Verification token does not match.")
        return HttpResponse(answer, content_type="text/plain")
    limited = _hook_limited(request, f"hook:{hook.slug}")
    if limited is not None:
        return limited
    try:
        body = read_body(request, webhooks.MAX_BODY_BYTES)
    except BodyTooLarge as exc:
        return problem(413, str(exc))
    ip = client_ip(request)
    try:
        webhooks.verify(hook, body, request.headers)
    except webhooks.SignatureInvalid as exc:
        webhooks.record_rejection(hook.slug, str(exc), ip)
        return problem(401, "The signature is missing or does not match.")
    try:
        result = webhooks.receive(hook, body, ip=ip)
    except webhooks.PayloadInvalid as exc:
        return problem(exc.status, "The payload cannot be captured as a lead.", exc.errors)
    return JsonResponse(result.body, status=result.status)


def _mailbox_for(request: HttpRequest, token: str) -> InboundMailbox | None:
    raw = token or request.headers.get("X-Throughline-Token", "")
    auth = request.headers.get("Authorization", "")
    if not raw and auth.lower().startswith("bearer "):
        raw = auth[7:].strip()
    if not raw or len(raw) > 200:
        return None
    return InboundMailbox.objects.filter(hook_token_hash=token_digest(raw)).first()


@public
@csrf_exempt
@require_http_methods(["POST"])
def email_hook(request: HttpRequest, token: str = "") -> HttpResponse:
    """``POST /hooks/email`` (token in ``X-Throughline-Token`` / Bearer) or ``/hooks/email/<token>``:
    one raw RFC 5322 message as the body."""
    limited = _hook_limited(request, "hook:email")
    if limited is not None:
        return limited
    mailbox = _mailbox_for(request, token)
    if mailbox is None:
        webhooks.record_rejection(
            "email", "unknown or missing inbound e-mail token", client_ip(request)
        )
        return problem(401, "Unknown or missing token.")
    try:
        raw = read_body(request, email_inbound.MAX_EMAIL_BYTES)
    except BodyTooLarge as exc:
        return problem(413, str(exc))
    try:
        outcome = email_inbound.process(mailbox, raw, via="hook")
    except email_inbound.EmailInvalid as exc:
        return problem(422, "The message cannot be taken in.", exc.errors)
    email = outcome.email
    return JsonResponse(
        {
            "id": str(email.pk),
            "outcome": email.outcome,
            "reason": email.reason,
            "lead_id": str(email.lead_id) if email.lead_id else None,
            "activity_id": str(email.activity_id) if email.activity_id else None,
            "duplicate": outcome.duplicate,
        },
        status=200 if outcome.duplicate else 201,
    )


@public
@csrf_exempt
@require_http_methods(["POST"])
def call_hook(request: HttpRequest, provider: str) -> HttpResponse:
    """``POST /hooks/calls/<provider>``: a telephony provider reports a call (signed)."""
    hook = WebhookSource.objects.filter(
        slug=provider, is_active=True, kind=WebhookSource.Kind.CALLS
    ).first()
    if hook is None:
        return problem(404, f"There is no call provider {provider!r}.")
    limited = _hook_limited(request, f"calls:{hook.slug}")
    if limited is not None:
        return limited
    try:
        body = read_body(request, webhooks.MAX_BODY_BYTES)
    except BodyTooLarge as exc:
        return problem(413, str(exc))
    ip = client_ip(request)
    try:
        webhooks.verify(hook, body, request.headers)
    except webhooks.SignatureInvalid as exc:
        webhooks.record_rejection(hook.slug, str(exc), ip)
        return problem(401, "The signature is missing or does not match.")
    try:
        payload = webhooks.parse_json(body)
        data = calls.input_from_payload(payload, hook.slug, hook.mapping)
        actor = Actor(user=None, channel=Channel.WEBHOOK, ip=ip, label=f"calls {hook.slug}")
        log, created = calls.log_incoming_call(actor, data)
    except webhooks.PayloadInvalid as exc:
        return problem(exc.status, "The payload cannot be read.", exc.errors)
    except ValidationError as exc:
        return problem(422, "The call cannot be logged.", error_dict(exc))
    return JsonResponse(
        {
            "id": str(log.pk),
            "caller": log.caller,
            "contact_id": str(log.contact_id) if log.contact_id else None,
            "lead_id": str(log.lead_id) if log.lead_id else None,
            "activity_id": str(log.activity_id) if log.activity_id else None,
            "created": created,
        },
        status=201 if created else 200,
    )
