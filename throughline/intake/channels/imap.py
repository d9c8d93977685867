"""The IMAP poller: new messages of an inbound mailbox, each handled exactly once.

For each mailbox with IMAP switched on (``throughline fetch-mail``, and the periodic sweep):

1. connect over SSL/TLS, STARTTLS, or — only to a loopback address — plain IMAP; log in;
2. ``SELECT`` the folder read-only (we never change flags or move mail: the mailbox stays
   as its people left it) and read ``UIDVALIDITY``. When it differs from the one stored, the
   server renumbered the folder: start again from UID 1 (Message-IDs already handled are
   still recognised, so nothing is captured twice);
3. ``UID SEARCH UID <last+1>:*`` and fetch each message with ``BODY.PEEK[]`` in UID order;
4. hand it to ``email_inbound.process`` and, in the same transaction, advance the mailbox's
   ``last_uid``. A crash between two messages repeats nothing; two pollers racing on one
   message meet the unique (mailbox, uidvalidity, uid) constraint and one of them skips it.

A message that cannot be a lead (no valid sender) is recorded as ignored with its reason,
so it is not fetched forever.
"""

from __future__ import annotations

import imaplib
import ipaddress
import logging
import re
import socket
import ssl
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from throughline.intake.channels import email_inbound
from throughline.intake.channels.models import InboundEmail, InboundMailbox

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
BATCH = 200
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class ImapError(Exception):
    pass


@dataclass
class PollResult:
    mailbox: str
    fetched: int = 0
    leads: int = 0
    timeline: int = 0
    ignored: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.mailbox}: {self.fetched} fetched, {self.leads} new leads, "
            f"{self.timeline} on timelines, {self.ignored} ignored, {self.duplicates} already seen"
        )
        return text + (f"; errors: {'; '.join(self.errors)}" if self.errors else "")


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def connect(mailbox: InboundMailbox) -> imaplib.IMAP4:
    Security = InboundMailbox.Security
    host, port = mailbox.imap_host, mailbox.imap_port
    try:
        if mailbox.imap_security == Security.SSL:
            conn = imaplib.IMAP4_SSL(
                host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_SECONDS
            )
        else:
            if mailbox.imap_security == Security.PLAIN and not _is_loopback(host):
                raise ImapError(
                    "Plain IMAP would send the password unencrypted: use SSL/TLS or STARTTLS "
                    "(plain is allowed to a loopback address only)."
                )
            conn = imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)
            if mailbox.imap_security == Security.STARTTLS:
                conn.starttls(ssl_context=ssl.create_default_context())
        conn.login(mailbox.imap_username, mailbox.imap_password)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise ImapError(f"Cannot log in to {host}:{port}: {exc}") from exc
    return conn


def _select(conn: imaplib.IMAP4, folder: str) -> int:
    status, _ = conn.select(_quote(folder), readonly=True)
    if status != "OK":
        raise ImapError(f"Cannot open the folder {folder!r}.")
    _, data = conn.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status, data = conn.status(_quote(folder), "(UIDVALIDITY)")
    match = _UIDVALIDITY.search(data[0] if data and data[0] else b"")
    if not match:
        raise ImapError("The server did not tell the folder's UIDVALIDITY.")
    return int(match.group(1))


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _new_uids(conn: imaplib.IMAP4, after: int) -> list[int]:
    status, data = conn.uid("SEARCH", None, f"UID {after + 1}:*")
    if status != "OK":
        raise ImapError("UID SEARCH failed.")
    uids = sorted(int(u) for u in (data[0] or b"").split() if u.isdigit())
    # "n:*" always matches the last message, even when its UID is below n.
    return [u for u in uids if u > after]


def _fetch(conn: imaplib.IMAP4, uid: int) -> bytes:
    status, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise ImapError(f"FETCH of UID {uid} failed.")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    raise ImapError(f"UID {uid} has no body (deleted meanwhile?).")


def _advance(mailbox: InboundMailbox, uidvalidity: int, uid: int) -> None:
    InboundMailbox.objects.filter(pk=mailbox.pk, uidvalidity=uidvalidity).filter(
        Q(last_uid__lt=uid)
    ).update(last_uid=uid)


def _count(result: PollResult, outcome: email_inbound.Outcome) -> None:
    if outcome.duplicate:
        result.duplicates += 1
    elif outcome.email.outcome == InboundEmail.Outcome.LEAD:
        result.leads += 1
    elif outcome.email.outcome == InboundEmail.Outcome.TIMELINE:
        result.timeline += 1
    else:
        result.ignored += 1


def poll(mailbox: InboundMailbox, *, limit: int = BATCH) -> PollResult:
    """Fetch and handle up to ``limit`` new messages of ``mailbox`` (see the module docstring)."""
    result = PollResult(mailbox=mailbox.address)
    started = time.monotonic()
    try:
        conn = connect(mailbox)
    except ImapError as exc:
        _finish(mailbox, result, str(exc), started)
        return result
    try:
        uidvalidity = _select(conn, mailbox.imap_folder)
        mailbox.refresh_from_db(fields=["uidvalidity", "last_uid"])
        if mailbox.uidvalidity != uidvalidity:
            if mailbox.uidvalidity is not None:
                logger.warning(
                    "UIDVALIDITY of %s changed (%s → %s): reading the folder again",
                    mailbox.address, mailbox.uidvalidity, uidvalidity,
                )  # fmt: skip
            InboundMailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        for uid in _new_uids(conn, mailbox.last_uid)[:limit]:
            raw = _fetch(conn, uid)
            result.fetched += 1
            try:
                with transaction.atomic():
                    outcome = email_inbound.process(
                        mailbox, raw, via="imap", imap_uid=uid, uidvalidity=uidvalidity
                    )
                    _advance(mailbox, uidvalidity, uid)
            except email_inbound.EmailInvalid as exc:
                reason = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
                with transaction.atomic():
                    email_inbound.record_unusable(
                        mailbox, raw, reason, imap_uid=uid, uidvalidity=uidvalidity
                    )
                    _advance(mailbox, uidvalidity, uid)
                result.ignored += 1
                continue
            _count(result, outcome)
    except (ImapError, imaplib.IMAP4.error, OSError) as exc:
        _finish(mailbox, result, f"{type(exc).__name__}: {exc}", started)
        return result
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    _finish(mailbox, result, "", started)
    return result


def _finish(mailbox: InboundMailbox, result: PollResult, error: str, started: float) -> None:
    if error:
        result.errors.append(error)
        logger.warning("IMAP poll of %s failed: %s", mailbox.address, error)
    InboundMailbox.objects.filter(pk=mailbox.pk).update(
        last_polled_at=timezone.now(), last_error=error[:500]
    )
    _report_health(mailbox, error, started)


def _report_health(mailbox: InboundMailbox, error: str, started: float) -> None:
    """Integration health (Integrations → Health) shows the poller beside the other links."""
    try:
        from throughline.integrations.health import record_integration_call
    except ImportError:  # pragma: no cover - the integrations app is optional here
        return
    try:
        record_integration_call(
            "imap",
            f"imap:{mailbox.address}",
            ok=not error,
            latency_ms=(time.monotonic() - started) * 1000,
            error=error,
            label=f"IMAP {mailbox.address}",
        )
    except Exception:  # noqa: BLE001 - health reporting must never break polling
        logger.exception("Could not record IMAP health for %s", mailbox.address)


def poll_all() -> list[PollResult]:
    return [
        poll(mailbox)
        for mailbox in InboundMailbox.objects.filter(imap_enabled=True).exclude(imap_host="")
    ]
