"""Files shared with the client on a project: uploaded by staff, checked, served as downloads.

Type by extension *and* first bytes (sales' list of allowed kinds, plus zip); size against
``DeliverySettings.max_upload_mb``. Nothing is ever served inline: responses are attachments
with ``X-Content-Type-Options: nosniff`` and a sandboxing CSP (``file_response``).
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.delivery.models import DeliverySettings, Project, SharedFile
from throughline.delivery.services.errors import DeliveryStateError
from throughline.sales.services.comments import ALLOWED_TYPES, FileKind, safe_filename

FILE_TYPES: dict[str, FileKind] = {**ALLOWED_TYPES, "zip": FileKind("application/zip", (b"PK",))}
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in FILE_TYPES)


def check_upload(upload) -> tuple[str, str]:
    """(safe name, content type) or ValidationError keyed ``file``."""
    if upload is None:
        raise ValidationError({"file": "Choose a file."})
    name = safe_filename(getattr(upload, "name", ""))
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = FILE_TYPES.get(ext)
    if kind is None:
        allowed = ", ".join(sorted(FILE_TYPES))
        raise ValidationError({"file": f"“{name}”: allowed types are {allowed}."})
    limit = DeliverySettings.current().max_upload_mb * 1024 * 1024
    if upload.size > limit:
        raise ValidationError({"file": f"“{name}” is larger than {limit // (1024 * 1024)} MB."})
    if upload.size == 0:
        raise ValidationError({"file": f"“{name}” is empty."})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if kind.text:
        if b"\x00" in head:
            raise ValidationError({"file": f"“{name}” is not a text file."})
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:
                raise ValidationError({"file": f"“{name}” is not a text file."}) from exc
    elif not any(head.startswith(magic) for magic in kind.magic):
        raise ValidationError({"file": f"“{name}” is not really a .{ext} file."})
    return name, kind.content_type


@transaction.atomic
def share_file(actor: Actor, project: Project, upload) -> SharedFile:
    if project.is_closed:
        raise DeliveryStateError("This project is closed.")
    name, content_type = check_upload(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    shared = SharedFile(
        project=project,
        name=name,
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor.user,
    )
    shared.file.save(name, upload, save=False)
    shared.save()
    audit_log.record(
        actor,
        "file.shared",
        shared,
        changes={
            "name": [None, name],
            "size": [None, upload.size],
            "sha256": [None, shared.sha256],
        },
    )
    return shared


@transaction.atomic
def remove_file(actor: Actor, shared: SharedFile) -> None:
    audit_log.record(actor, "file.removed", shared, changes={"name": [shared.name, None]})
    storage, path = shared.file.storage, shared.file.name
    shared.delete()
    transaction.on_commit(lambda: storage.delete(path))


def file_response(shared: SharedFile) -> FileResponse:
    """Always a download, never rendered inline; the browser must not guess the type."""
    response = FileResponse(
        shared.file.open("rb"),
        as_attachment=True,
        filename=shared.name,
        content_type=shared.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
