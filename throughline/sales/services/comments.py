"""The one comment thread of a proposal, shared by the client and the team.

Bodies are plain text (escaped wherever shown). ``@name`` or ``@e-mail`` mentions a colleague,
who is e-mailed. A client's comment reaches the proposal owner; a team comment (unless marked
internal) reaches the client with a fresh link. Attachments are limited in number, size and
type — the type is read from the file's first bytes, not from what the browser claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.sales.models import CommentAttachment, Proposal, ProposalComment
from throughline.sales.services import notify
from throughline.sales.services.pipeline import touch

MAX_BODY = 5000
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
_ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class FileKind:
    content_type: str
    magic: tuple[bytes, ...] = ()
    text: bool = False


ALLOWED_TYPES: dict[str, FileKind] = {
    "pdf": FileKind("application/pdf", (b"%PDF-",)),
    "png": FileKind("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": FileKind("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": FileKind("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": FileKind("image/gif", (b"GIF87a", b"GIF89a")),
    "txt": FileKind("text/plain", text=True),
    "csv": FileKind("text/csv", text=True),
    "docx": FileKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)
    ),
    "xlsx": FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
}
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in ALLOWED_TYPES)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = _SAFE_NAME.sub("_", base).strip(" .") or "attachment"
    return base[-150:]


def check_attachment(upload) -> tuple[str, str]:
    """(safe file name, content type) or ValidationError. Reads only the first bytes."""
    name = safe_filename(getattr(upload, "name", ""))
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = ALLOWED_TYPES.get(ext)
    if kind is None:
        raise ValidationError(
            {"attachments": f"“{name}”: allowed types are {', '.join(sorted(set(ALLOWED_TYPES)))}."}
        )
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            {"attachments": f"“{name}” is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB."}
        )
    if upload.size == 0:
        raise ValidationError({"attachments": f"“{name}” is empty."})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if kind.text:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 8 KiB boundary is fine; anything else is not text.
            if exc.start < len(head) - 4:
                raise ValidationError({"attachments": f"“{name}” is not a text file."}) from exc
        if b"\x00" in head:
            raise ValidationError({"attachments": f"“{name}” is not a text file."})
    elif not any(head.startswith(magic) for magic in kind.magic):
        raise ValidationError({"attachments": f"“{name}” is not really a .{ext} file."})
    return name, kind.content_type


def find_mentions(body: str) -> list[User]:
    """Active staff users named in ``@`` mentions: a full e-mail address, or a handle that
    matches exactly one user's e-mail name or first name (``@sam``)."""
    handles = [h.rstrip(".").lower() for h in _MENTION.findall(body or "")]
    if not handles:
        return []
    staff = list(User.objects.filter(is_active=True))
    found: dict[int, User] = {}
    for handle in handles:
        if "@" in handle:
            matches = [u for u in staff if u.email.lower() == handle]
        else:
            matches = [
                u
                for u in staff
                if u.email.split("@")[0].lower() == handle
                or (u.full_name and u.full_name.split()[0].lower() == handle)
            ]
        if len(matches) == 1:
            found[matches[0].pk] = matches[0]
    return list(found.values())


@transaction.atomic
def add_comment(
    actor: Actor,
    proposal: Proposal,
    *,
    body: str,
    client: bool = False,
    client_name: str = "",
    internal: bool = False,
    requests_change: bool = False,
    files=(),
) -> ProposalComment:
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("deal", "owner")
        .get(pk=proposal.pk)
    )
    body = (body or "").replace("\r\n", "\n").strip()
    files = list(files or [])
    errors = {}
    if len(body) > MAX_BODY:
        errors["body"] = f"At most {MAX_BODY} characters."
    if not body and not files:
        errors["body"] = "Write something, or attach a file."
    if len(files) > MAX_ATTACHMENTS:
        errors["attachments"] = f"At most {MAX_ATTACHMENTS} files per comment."
    if client and internal:
        errors["internal"] = "A client's comment cannot be internal."
    if errors:
        raise ValidationError(errors)
    checked = [(upload, *check_attachment(upload)) for upload in files]
    version = proposal.client_version() if client else proposal.latest_version()
    mentioned = find_mentions(body)
    comment = ProposalComment.objects.create(
        proposal=proposal,
        version=version,
        author=None if client else actor.user,
        is_client=client,
        client_name=(client_name or "").strip()[:200] if client else "",
        body=body,
        internal=internal,
        requests_change=requests_change and client,
        mentions=[u.pk for u in mentioned],
    )
    for upload, name, content_type in checked:
        attachment = CommentAttachment(
            comment=comment, original_name=name, content_type=content_type, size=upload.size
        )
        attachment.file.save(name, upload, save=False)
        attachment.save(force_insert=True)
    audit_log.record(
        actor,
        "proposal.commented",
        proposal,
        changes={
            "comment": [None, str(comment.pk)],
            "by": [None, "client" if client else "team"],
            "internal": [None, internal],
            "requests_change": [None, comment.requests_change],
            "attachments": [None, [name for _, name, _ in checked]],
        },
    )
    events.emit(
        actor,
        "proposal.commented",
        proposal,
        comment_id=str(comment.pk),
        by="client" if client else "team",
        internal=internal,
        requests_change=comment.requests_change,
        version=version.number if version else None,
        attachments=len(checked),
        mentions=[u.email for u in mentioned],
    )
    _notify(actor, proposal, comment, mentioned)
    touch(proposal.deal)
    return comment


def _notify(actor: Actor, proposal: Proposal, comment: ProposalComment, mentioned) -> None:
    context = {
        "proposal": proposal,
        "comment": comment,
        "url": notify.staff_url("sales:proposal_detail", proposal.pk) + f"#comment-{comment.pk}",
    }
    source = f"sales.proposal:{proposal.pk}"
    if mentioned:
        notify.email_users(
            actor,
            mentioned,
            subject=f"{comment.author_name} mentioned you on proposal {proposal.number}",
            template="sales/email/comment_staff.txt",
            context={**context, "mentioned": True},
            source=source,
            exclude=actor.user,
        )
    if comment.is_client:
        owner = proposal.owner or proposal.deal.owner
        if owner is not None and owner not in mentioned:
            notify.email_users(
                actor,
                [owner],
                subject=(
                    f"{comment.author_name} asked for changes to proposal {proposal.number}"
                    if comment.requests_change
                    else f"{comment.author_name} commented on proposal {proposal.number}"
                ),
                template="sales/email/comment_staff.txt",
                context={**context, "mentioned": False},
                source=source,
            )
        return
    if comment.internal or proposal.status != Proposal.Status.SENT:
        return
    from throughline.sales.services.proposals import client_address, client_link

    version = proposal.client_version()
    try:
        to, contact = client_address(proposal)
    except ValidationError:
        return
    notify.email_client(
        actor,
        to=to,
        contact=contact,
        subject=f"New comment on proposal {proposal.number}: {proposal.title}",
        template="sales/email/comment_client.txt",
        context={**context, "link": client_link(proposal, version)},
        source=source,
        reply_to=actor.user.email if actor.user else "",
    )
