"""Staff: webhook sources (lead and call hooks) and inbound mailboxes (hook token, IMAP)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from throughline.core import audit_log
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake.channels import imap, webhooks
from throughline.intake.channels.models import (
    InboundEmail,
    InboundMailbox,
    WebhookSource,
    token_digest,
)
from throughline.intake.channels.staff_forms import MailboxForm, WebhookSourceForm

SHOWN_SECRET = "intake_channels_shown_secret"  # noqa: S105 - a session key


def _show_once(request: HttpRequest, label: str, value: str) -> None:
    """Secrets are shown on the next page only, never stored in a readable place."""
    request.session[SHOWN_SECRET] = {"label": label, "value": value}


def _pop_secret(request: HttpRequest) -> dict | None:
    return request.session.pop(SHOWN_SECRET, None)


@requires("leads.edit")
def source_list(request: HttpRequest) -> HttpResponse:
    context = {"sources": WebhookSource.objects.order_by("name")}
    return render(request, "intake_channels/sources/list.html", context)


@requires("leads.edit")
def source_create(request: HttpRequest) -> HttpResponse:
    form = WebhookSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = webhooks.create_source(Actor.from_request(request), **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            _show_once(request, "Signing secret", source.secret)
            messages.success(request, f"Source “{source}” created. Copy its secret now.")
            return redirect("intake_channels:source_edit", pk=source.pk)
    return render(request, "intake_channels/sources/form.html", {"form": form, "source": None})


@requires("leads.edit")
def source_edit(request: HttpRequest, pk) -> HttpResponse:
    source = get_object_or_404(WebhookSource, pk=pk)
    form = WebhookSourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        data.pop("slug", None)
        try:
            webhooks.update_source(Actor.from_request(request), source, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Source saved.")
            return redirect("intake_channels:source_edit", pk=source.pk)
    path = (
        "intake_channels:call_hook"
        if source.kind == WebhookSource.Kind.CALLS
        else "intake_channels:lead_hook"
    )
    context = {
        "form": form,
        "source": WebhookSource.objects.get(pk=source.pk),
        "hook_url": request.build_absolute_uri(reverse(path, args=[source.slug])),
        "secret": _pop_secret(request),
        "deliveries": source.deliveries.order_by("-received_at")[:20],
        "header": (
            webhooks.FACEBOOK_SIGNATURE_HEADER
            if source.kind == WebhookSource.Kind.FACEBOOK
            else webhooks.SIGNATURE_HEADER
        ),
    }
    return render(request, "intake_channels/sources/form.html", context)


@requires("leads.edit")
@require_POST
def source_rotate(request: HttpRequest, pk) -> HttpResponse:
    source = get_object_or_404(WebhookSource, pk=pk)
    overlap = dt.timedelta(hours=0 if request.POST.get("now") else 24)
    secret = webhooks.rotate_secret(Actor.from_request(request), source, overlap)
    _show_once(request, "New signing secret", secret)
    messages.success(
        request,
        "Secret rotated; the old one stops working " + ("now." if not overlap else "in 24 hours."),
    )
    return redirect("intake_channels:source_edit", pk=source.pk)


# --- Mailboxes ------------------------------------------------------------------------------


@requires("leads.edit")
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = InboundMailbox.objects.order_by("address")
    recent = InboundEmail.objects.select_related("mailbox").order_by("-created_at")[:30]
    return render(
        request, "intake_channels/mailboxes/list.html", {"mailboxes": mailboxes, "recent": recent}
    )


@requires("leads.edit")
def mailbox_edit(request: HttpRequest, pk=None) -> HttpResponse:
    mailbox = get_object_or_404(InboundMailbox, pk=pk) if pk else None
    form = MailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        with transaction.atomic():
            before = audit_log.snapshot(mailbox) if mailbox else {}
            saved = form.save()
            after = audit_log.snapshot(saved)
            for hidden in ("imap_password", "hook_token_hash"):
                for side in (before, after):
                    side.pop(hidden, None)
            audit_log.record(
                actor,
                "inbound_mailbox.updated" if mailbox else "inbound_mailbox.created",
                saved,
                changes=audit_log.diff(before, after),
            )
        messages.success(request, "Mailbox saved.")
        return redirect("intake_channels:mailbox_edit", pk=saved.pk)
    context = {
        "form": form,
        "mailbox": mailbox,
        "secret": _pop_secret(request),
        "hook_url": request.build_absolute_uri(reverse("intake_channels:email_hook")),
    }
    return render(request, "intake_channels/mailboxes/form.html", context)


def new_hook_token(actor: Actor, mailbox: InboundMailbox) -> str:
    raw = "mbx_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        InboundMailbox.objects.filter(pk=mailbox.pk).update(
            hook_token_hash=token_digest(raw), hook_token_hint=raw[-4:]
        )
        audit_log.record(actor, "inbound_mailbox.token_rotated", mailbox)
    return raw


@requires("leads.edit")
@require_POST
def mailbox_token(request: HttpRequest, pk) -> HttpResponse:
    mailbox = get_object_or_404(InboundMailbox, pk=pk)
    raw = new_hook_token(Actor.from_request(request), mailbox)
    _show_once(request, "E-mail hook token", raw)
    messages.success(request, "New token made; the previous one no longer works.")
    return redirect("intake_channels:mailbox_edit", pk=mailbox.pk)


@requires("leads.edit")
@require_POST
def mailbox_fetch(request: HttpRequest, pk) -> HttpResponse:
    mailbox = get_object_or_404(InboundMailbox, pk=pk)
    if not mailbox.imap_enabled:
        messages.error(request, "IMAP is off for this mailbox.")
    else:
        result = imap.poll(mailbox)
        level = messages.error if result.errors else messages.success
        level(request, result.summary())
    return redirect("intake_channels:mailbox_edit", pk=mailbox.pk)
