"""E-mail to lead: one raw MIME message in, a lead or a timeline entry out (or nothing).

``process(mailbox, raw)`` is called by the ``POST /hooks/email`` view and by the IMAP poller:

1. parse with the standard library (``policy.default``): sender, subject, date, the text
   body (or the HTML body's text), the HTML body sanitized with nh3, attachments;
2. recognise what must not become a lead (kept as an ``InboundEmail`` with the reason):
   automatic replies (RFC 3834 ``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
   ``X-Autorespond``, ``X-Auto-Response-Suppress``, ``Precedence: bulk|junk|list|auto_reply``,
   vacation subjects), bounces and reports (``multipart/report``, ``X-Failed-Recipients``,
   mailer-daemon senders, null return path), mailing lists (``List-Id``) and our own mail;
3. a sender who is a known contact (normalized e-mail) → the message joins their timeline
   (``crm.services.log_activity`` kind e-mail, direction "in", sanitized HTML and
   attachments in its metadata); anyone else → ``capture_lead`` with subject, body and
   attachments.

The same Message-ID twice in one mailbox is handled once (unique constraint). Attachments go
to Django's default storage, limited in size, number and type; refused ones are listed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePath
from typing import Any

import nh3
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm import services as crm
from throughline.crm.models import Activity, Contact
from throughline.crm.normalize import normalize_email
from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.channels.models import InboundAttachment, InboundEmail, InboundMailbox

logger = logging.getLogger(__name__)

MAX_EMAIL_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENTS = 10
MAX_TEXT = 20_000
ALLOWED_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "text/calendar",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
AUTO_SUBJECTS = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"r[ée]ponse automatique|vacation|away from (the )?office)\b",
    re.IGNORECASE,
)
BOUNCE_SUBJECTS = re.compile(
    r"(undeliver(ed|able)|delivery (status notification|failure|has failed)|"
    r"mail delivery (failed|subsystem)|returned mail|failure notice)",
    re.IGNORECASE,
)
DAEMON_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|bounces?)@", re.IGNORECASE)


class EmailInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    message_id: str
    from_address: str
    from_name: str
    subject: str
    text: str
    html: str  # sanitized
    sent_at: dt.datetime | None
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    skip: tuple[str, str] | None = None  # (outcome, reason) when it must not become a lead
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    email: InboundEmail
    duplicate: bool = False


# --- Parsing --------------------------------------------------------------------------------


def sanitize_html(value: str) -> str:
    """HTML safe to show inside our pages: no scripts, styles, images, handlers or forms."""
    return nh3.clean(
        value or "",
        tags=SAFE_TAGS,
        attributes={
            "a": {"href", "title"},
            "td": {"colspan", "rowspan"},
            "th": {"colspan", "rowspan"},
        },
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(value: str) -> str:
    value = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h[1-6]>", "\n", value or "")
    text = html.unescape(nh3.clean(value, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # malformed header the parser cannot fold
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def classify(message: EmailMessage, from_address: str) -> tuple[str, str] | None:
    """``(outcome, reason)`` for messages that must not become leads; None for a person's."""
    Out = InboundEmail.Outcome
    content_type = message.get_content_type()
    report_type = (
        (message.get_param("report-type") or "").lower()
        if content_type == "multipart/report"
        else ""
    )
    if content_type == "multipart/report" and report_type == "delivery-status":
        return Out.BOUNCE, "delivery status report (multipart/report)"
    if _header(message, "X-Failed-Recipients"):
        return Out.BOUNCE, "X-Failed-Recipients"
    if DAEMON_SENDERS.match(from_address or ""):
        return Out.BOUNCE, f"sent by {from_address.split('@')[0].lower()}"
    if content_type == "multipart/report":
        return Out.AUTO_REPLY, f"report ({report_type or 'unknown type'})"
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return Out.AUTO_REPLY, f"Auto-Submitted: {auto_submitted[:40]}"
    for name in (
        "X-Autoreply",
        "X-Autorespond",
        "X-Autogenerated",
        "X-AutoReply-From",
        "X-Mail-Autoreply",
    ):
        if _header(message, name):
            return Out.AUTO_REPLY, name
    suppress = _header(message, "X-Auto-Response-Suppress").lower()
    if suppress and any(v in suppress for v in ("all", "oof", "autoreply")):
        return Out.AUTO_REPLY, "X-Auto-Response-Suppress"
    precedence = (_header(message, "Precedence") or _header(message, "X-Precedence")).lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return Out.AUTO_REPLY, f"Precedence: {precedence}"
    if _header(message, "List-Id"):
        return Out.IGNORED, "mailing list (List-Id)"
    if _header(message, "Return-Path") == "<>":
        return Out.BOUNCE, "null return path"
    subject = _header(message, "Subject")
    if BOUNCE_SUBJECTS.search(subject):
        return Out.BOUNCE, "bounce subject"
    if AUTO_SUBJECTS.match(subject):
        return Out.AUTO_REPLY, "automatic reply subject"
    return None


def _sender(message: EmailMessage) -> tuple[str, str]:
    """The author (From). Reply-To is not used: it may name a shared inbox or a list."""
    pairs = getaddresses([_header(message, "From")])
    if pairs and pairs[0][1]:
        return pairs[0][1].strip(), pairs[0][0].strip()
    return "", ""


def _date(message: EmailMessage) -> dt.datetime | None:
    raw = _header(message, "Date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if value is None or timezone.is_naive(value):
        return None
    if value > timezone.now() + dt.timedelta(minutes=5) or value.year < 1990:
        return None
    return value


def _safe_filename(name: str, index: int) -> str:
    base = PurePath((name or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")[:120]
    return base or f"attachment-{index}"


def _part_bytes(part) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def parse(raw: bytes, max_attachment_bytes: int = 10 * 1024 * 1024) -> ParsedEmail:
    if not raw or not raw.strip():
        raise EmailInvalid({"__all__": ["The body is empty: post the raw message (RFC 5322)."]})
    message = message_from_bytes(raw, policy=policy.default)
    if not message.keys():
        raise EmailInvalid({"__all__": ["Not an e-mail message: no headers found."]})
    from_address, from_name = _sender(message)
    message_id = _header(message, "Message-ID").strip("<> ")[:250]
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    subject = _header(message, "Subject")[:300]

    text_part = html_part = None
    try:
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
    except (KeyError, LookupError):
        pass
    text = _content(text_part)
    html_body = _content(html_part)
    if not text and html_body:
        text = html_to_text(html_body)
    parsed = ParsedEmail(
        message_id=message_id,
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        text=text.strip()[:MAX_TEXT],
        html=sanitize_html(html_body).strip()[: MAX_TEXT * 5],
        sent_at=_date(message),
        skip=classify(message, from_address),
        headers={k: _header(message, k)[:300] for k in ("From", "To", "Date", "Message-ID")},
    )
    body_parts = {id(p) for p in (text_part, html_part) if p is not None}
    index = 0
    for part in message.walk():
        if part.is_multipart() or id(part) in body_parts:
            continue
        disposition = part.get_content_disposition()
        if disposition not in {"attachment", "inline"} and not part.get_filename():
            continue
        index += 1
        name = _safe_filename(part.get_filename() or "", index)
        content_type = part.get_content_type()
        data = _part_bytes(part)
        if content_type not in ALLOWED_TYPES:
            parsed.skipped.append(f"{name} (type {content_type} not accepted)")
        elif len(data) > max_attachment_bytes:
            parsed.skipped.append(
                f"{name} (larger than {max_attachment_bytes // (1024 * 1024)} MB)"
            )
        elif len(parsed.attachments) >= MAX_ATTACHMENTS:
            parsed.skipped.append(f"{name} (more than {MAX_ATTACHMENTS} attachments)")
        elif data:
            parsed.attachments.append(Attachment(name, content_type, data))
    return parsed


def _content(part) -> str:
    if part is None:
        return ""
    try:
        value = part.get_content()
    except (LookupError, UnicodeDecodeError, ValueError, AssertionError):
        data = _part_bytes(part)
        value = data.decode("latin-1", errors="replace")
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).replace("\x00", "")


# --- Processing -----------------------------------------------------------------------------


def _store_attachments(email: InboundEmail, attachments: list[Attachment], written: list[str]):
    rows = []
    for item in attachments:
        row = InboundAttachment(
            email=email,
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.data),
            sha256=hashlib.sha256(item.data).hexdigest(),
        )
        row.file.save(item.filename, ContentFile(item.data), save=False)
        written.append(row.file.name)
        row.save()
        rows.append(row)
    return rows


def _attachment_meta(rows: list[InboundAttachment]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.pk,
            "filename": r.filename,
            "content_type": r.content_type,
            "size": r.size,
            "path": r.file.name,
        }
        for r in rows
    ]


def _split_name(name: str) -> tuple[str, str]:
    name = " ".join((name or "").replace('"', "").split())
    if "," in name:  # "Lovelace, Ada"
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.rpartition(" ")
    return (first, last) if first else (last, "")


def _known_contact(from_address: str) -> Contact | None:
    try:
        _, normalized = normalize_email(from_address)
    except ValidationError:
        return None
    if not normalized:
        return None
    return Contact.objects.filter(email_normalized=normalized).select_related("company").first()


def process(
    mailbox: InboundMailbox,
    raw: bytes,
    *,
    via: str = "hook",
    imap_uid: int | None = None,
    uidvalidity: int | None = None,
) -> Outcome:
    """Handle one message (see the module docstring). ``EmailInvalid`` when it cannot be a
    lead at all (no valid sender…); the caller decides whether that is recorded (IMAP) or
    refused (hook)."""
    if len(raw) > MAX_EMAIL_BYTES:
        raise EmailInvalid(
            {"__all__": [f"The message is larger than {MAX_EMAIL_BYTES // (1024 * 1024)} MB."]}
        )
    parsed = parse(raw, mailbox.max_attachment_bytes)
    existing = InboundEmail.objects.filter(mailbox=mailbox, message_id=parsed.message_id).first()
    if existing is not None:
        return Outcome(existing, duplicate=True)
    channel = Channel.WEBHOOK if via == "hook" else Channel.WORKER
    actor = Actor(user=None, channel=channel, label=f"inbound e-mail {mailbox.address}"[:200])
    written: list[str] = []
    try:
        with transaction.atomic():
            outcome = _record(actor, mailbox, parsed, via, imap_uid, uidvalidity, written)
    except IntegrityError:
        for name in written:
            default_storage.delete(name)
        existing = InboundEmail.objects.filter(
            mailbox=mailbox, message_id=parsed.message_id
        ).first()
        if existing is None and imap_uid is not None:
            existing = InboundEmail.objects.filter(
                mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid=imap_uid
            ).first()
        if existing is None:
            raise
        return Outcome(existing, duplicate=True)
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    return outcome


def _record(actor, mailbox, parsed: ParsedEmail, via, imap_uid, uidvalidity, written) -> Outcome:
    email = InboundEmail(
        mailbox=mailbox,
        message_id=parsed.message_id,
        via=via,
        imap_uid=imap_uid,
        imap_uidvalidity=uidvalidity,
        from_address=parsed.from_address[:254],
        from_name=parsed.from_name[:200],
        subject=parsed.subject,
        text=parsed.text,
        html_sanitized=parsed.html,
        sent_at=parsed.sent_at,
    )
    skip = parsed.skip
    if skip is None and parsed.from_address.lower() == mailbox.address.lower():
        skip = (InboundEmail.Outcome.IGNORED, "sent from this mailbox (mail loop)")
    if skip is not None:
        email.outcome, email.reason = skip
        email.save()
        logger.info("Inbound e-mail %s ignored: %s", parsed.message_id, email.reason)
        return Outcome(email)

    contact = _known_contact(parsed.from_address)
    email.outcome = InboundEmail.Outcome.TIMELINE if contact else InboundEmail.Outcome.LEAD
    if parsed.skipped:
        email.reason = ("Attachments not kept: " + "; ".join(parsed.skipped))[:300]
    email.save()
    rows = _store_attachments(email, parsed.attachments, written)
    meta = {
        "inbound_email_id": str(email.pk),
        "message_id": parsed.message_id,
        "from": parsed.headers.get("From", ""),
        "html": parsed.html,
        "attachments": _attachment_meta(rows),
        "attachments_refused": parsed.skipped,
    }
    if contact is not None:
        activity = crm.log_activity(
            actor,
            kind=Activity.Kind.EMAIL,
            contact=contact,
            subject=parsed.subject or "(no subject)",
            body=parsed.text or "(no text)",
            occurred_at=parsed.sent_at,
            direction="in",
            metadata=meta,
        )
        email.activity = activity
        email.contact = contact
        email.save(update_fields=["activity", "contact", "updated_at"])
        return Outcome(email)

    first, last = _split_name(parsed.from_name)
    message = "\n\n".join(filter(None, [parsed.subject, parsed.text]))
    if rows:
        message += "\n\nAttachments: " + ", ".join(r.filename for r in rows)
    data = LeadInput(
        channel="email",
        source=mailbox.lead_source_slug,
        first_name=first,
        last_name=last,
        email=parsed.from_address,
        message=message[:MAX_TEXT],
        external_id=f"email:{parsed.message_id}"[:200],
        received_at=parsed.sent_at,
        raw={
            **{k: v for k, v in meta.items() if k != "html"},
            "subject": parsed.subject,
            "via": via,
        },
    )
    try:
        result = capture_lead(actor, data)
    except ValidationError as exc:
        errors = {("from" if k == "email" else k): list(v) for k, v in exc.message_dict.items()}
        raise EmailInvalid(errors) from exc
    email.lead = result.lead
    email.contact = result.contact
    email.save(update_fields=["lead", "contact", "updated_at"])
    return Outcome(email)


def record_unusable(
    mailbox: InboundMailbox, raw: bytes, reason: str, *, imap_uid: int, uidvalidity: int | None
) -> InboundEmail:
    """IMAP only: a message that cannot become a lead is recorded, so it is not fetched again."""
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        parsed = parse(raw, 0)
    except EmailInvalid:
        parsed = None
    with transaction.atomic():
        email, _ = InboundEmail.objects.get_or_create(
            mailbox=mailbox,
            message_id=parsed.message_id if parsed else digest,
            defaults={
                "via": "imap",
                "imap_uid": imap_uid,
                "imap_uidvalidity": uidvalidity,
                "from_address": (parsed.from_address if parsed else "")[:254],
                "subject": parsed.subject if parsed else "",
                "outcome": InboundEmail.Outcome.IGNORED,
                "reason": reason[:300],
            },
        )
    return email
