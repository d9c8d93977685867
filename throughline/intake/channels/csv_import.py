"""CSV import of leads: upload → mapping with preview → dry run → run (a job with progress).

Reading: the encoding is UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 /
Latin-1; the delimiter is whichever of ``,`` ``;`` tab gives the most consistent column count
over the first lines. Line numbers in reports are the file's own (header = line 1; a quoted
field spanning lines counts its first line).

Mapping: header → lead field (``LEAD_TARGETS``, ``custom.<key>``, ``utm.<name>`` or empty to
ignore). The last mapping used for the same set of headers is offered again
(``CsvMappingPreset``); otherwise it is guessed from common header names.

Dry run (writes nothing): every row goes through capture's own validation (``clean_input``);
rows with the same normalized e-mail / E.164 phone as an earlier row are duplicates within
the file (only the first is imported); rows whose person exists already are reported as
duplicates against the database (the lead will link to that contact), rows imported before
as "already imported".

Run: each row is captured with an external id — ``e:<digest of the normalized e-mail>``, or
``f:<file digest>:<line>`` for rows without e-mail — so importing the same file (or the same
people) again creates nothing new. "Skip invalid rows" commits in chunks and reports
progress; "all or nothing" refuses to start when the dry run found invalid rows and imports
everything in one transaction (a row failing at run time rolls back every row).

TRICKY: all-or-nothing holds one long write transaction: on SQLite that blocks every other
writer until it ends — run big all-or-nothing imports on PostgreSQL or outside busy hours.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.lookup_cache import batch_cache
from throughline.core.models import Organization
from throughline.crm.custom_fields import definitions
from throughline.crm.models import Contact
from throughline.intake.bulk_capture import bulk_capturable, capture_many
from throughline.intake.capture import LeadInput, capture_lead, clean_input
from throughline.intake.channels.models import LEAD_TARGETS, CsvImport, CsvMappingPreset
from throughline.intake.models import Lead

MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_REPORTED_ROWS = 500
CHUNK = 1000
csv.field_size_limit(1024 * 1024)

SYNONYMS = {
    "first_name": {"firstname", "first", "givenname", "forename", "vorname", "prenom"},
    "last_name": {"lastname", "last", "surname", "familyname", "nachname", "nom"},
    "full_name": {"name", "fullname", "contactname", "contact", "person"},
    "email": {"email", "emailaddress", "mail", "courriel", "emailadresse", "workemail"},
    "phone": {
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "cell",
        "telefon",
    },
    "company": {
        "company",
        "companyname",
        "organisation",
        "organization",
        "firma",
        "business",
        "account",
    },
    "website": {"website", "web", "url", "homepage", "site", "domain"},
    "title": {"title", "jobtitle", "position", "role"},
    "message": {
        "message",
        "notes",
        "note",
        "comment",
        "comments",
        "description",
        "inquiry",
        "enquiry",
    },
}


class ImportError_(Exception):
    """The file cannot be imported at all (unreadable, no header, mapping unusable)."""


@dataclass
class Sniffed:
    text: str
    encoding: str
    delimiter: str
    headers: list[str]


@dataclass
class Row:
    line: int
    values: dict[str, str]
    error: str = ""


@dataclass
class Checked:
    row: Row
    data: LeadInput | None = None
    clean: Any = None  # capture's cleaned form of ``data``
    errors: dict[str, list[str]] = field(default_factory=dict)
    key: str = ""  # normalized e-mail or phone, for duplicates
    email_normalized: str = ""
    phone: str = ""
    duplicate_of_line: int | None = None


# --- Reading --------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ImportError_(f"The file says UTF-8 but is not (byte {exc.start}).") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"
    # Bytes 0x80–0x9F are printable in Windows-1252 and control codes in Latin-1.
    return text, "windows-1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"


def sniff_delimiter(text: str) -> str:
    sample = text[: 64 * 1024].splitlines()[:30]
    best, best_score = ",", -1.0
    for delimiter in (",", ";", "\t"):
        counts = [
            len(r) for r in csv.reader(sample, delimiter=delimiter) if any(c.strip() for c in r)
        ]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _unique_headers(raw: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    headers = []
    for index, name in enumerate(raw):
        name = " ".join((name or "").split()) or f"Column {index + 1}"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


def sniff(data: bytes) -> Sniffed:
    if not data.strip():
        raise ImportError_("The file is empty.")
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportError_(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportError_("This is not a text (CSV) file.")
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = sniff_delimiter(text)
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not first or not any(cell.strip() for cell in first):
        raise ImportError_("The first line must name the columns.")
    return Sniffed(text, encoding, delimiter, _unique_headers(first))


def rows(sniffed: Sniffed) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(sniffed.text), delimiter=sniffed.delimiter)
    next(reader, None)
    previous_end = reader.line_num
    width = len(sniffed.headers)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(previous_end + 1, {}, f"Unreadable line: {exc}")
            previous_end = reader.line_num
            continue
        line = previous_end + 1
        previous_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = Row(
            line, dict(zip(sniffed.headers, cells + [""] * (width - len(cells)), strict=False))
        )
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            row.error = f"{len(cells)} values but {width} columns (a stray delimiter?)"
        yield row


def content_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- Mapping --------------------------------------------------------------------------------


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def header_key(headers: list[str]) -> str:
    return hashlib.sha256("\x1f".join(_norm(h) for h in headers).encode()).hexdigest()


def targets() -> dict[str, str]:
    """Every field a column can fill, with its label."""
    found = dict(LEAD_TARGETS)
    for d in definitions("lead"):
        found[f"custom.{d.key}"] = f"Custom: {d.label}"
    return found


def suggest_mapping(headers: list[str]) -> tuple[dict[str, str], bool]:
    """The remembered mapping for these headers, else a guess; and whether it was remembered."""
    preset = CsvMappingPreset.objects.filter(header_key=header_key(headers)).first()
    if preset is not None:
        return {h: t for h, t in preset.mapping.items() if h in headers}, True
    custom = {_norm(d.key): f"custom.{d.key}" for d in definitions("lead")}
    custom.update({_norm(d.label): f"custom.{d.key}" for d in definitions("lead")})
    mapping, used = {}, set()
    for header in headers:
        n = _norm(header)
        target = next((t for t, names in SYNONYMS.items() if n in names), "")
        if not target and n.startswith("utm") and len(n) > 3:
            target = f"utm.utm_{n[3:]}"
        target = target or custom.get(n, "")
        if target and target not in used:
            mapping[header] = target
            used.add(target)
    return mapping, False


def clean_mapping(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    allowed = targets()
    errors = []
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, target in (mapping or {}).items():
        target = (target or "").strip()
        if not target:
            continue
        if header not in headers:
            errors.append(f"There is no column {header!r}.")
            continue
        if target not in allowed and not re.fullmatch(r"utm\.utm_[a-z0-9_]{1,40}", target):
            errors.append(f"{header}: unknown lead field {target!r}.")
            continue
        if target in used:
            errors.append(f"{header} and {used[target]} both fill {allowed.get(target, target)}.")
            continue
        used[target] = header
        cleaned[header] = target
    if not errors and not {"email", "phone"} & set(cleaned.values()):
        errors.append("Map a column to E-mail or Phone: a lead needs a way to answer it.")
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned


def remember_mapping(headers: list[str], mapping: dict[str, str]) -> None:
    CsvMappingPreset.objects.update_or_create(
        header_key=header_key(headers), defaults={"headers": headers, "mapping": mapping}
    )


def parse_mapping_option(value: str) -> dict[str, str]:
    """``--mapping`` on the command line: JSON, a JSON file, or ``Header=field,Header=field``."""
    value = (value or "").strip()
    if not value:
        return {}
    if value.startswith("{"):
        return json.loads(value)
    if value.endswith(".json"):
        with open(value, encoding="utf-8") as handle:
            return json.load(handle)
    pairs = [item.split("=", 1) for item in value.split(",") if "=" in item]
    return {k.strip(): v.strip() for k, v in pairs}


# --- Rows to leads --------------------------------------------------------------------------


def row_input(imp: CsvImport, row: Row, digest: str) -> LeadInput:
    data = LeadInput(
        channel="import",
        source=imp.lead_source_slug,
        acknowledge=imp.acknowledge,
        create_task=imp.acknowledge,
        raw={"file": imp.filename[:200], "line": row.line, "values": row.values},
    )
    for header, target in imp.mapping.items():
        value = (row.values.get(header) or "").strip()
        if not value:
            continue
        if target == "full_name":
            first, _, last = value.rpartition(" ")
            data.first_name, data.last_name = (first, last) if first else (last, "")
        elif target.startswith("custom."):
            data.custom[target.removeprefix("custom.")] = value
        elif target.startswith("utm."):
            data.utm[target.removeprefix("utm.")] = value
        else:
            setattr(data, target, value)
    return data


def external_id(email_normalized: str, digest: str, line: int) -> str:
    if email_normalized:
        return "e:" + hashlib.sha256(email_normalized.encode()).hexdigest()[:40]
    return f"f:{digest[:24]}:{line}"


def check_rows(imp: CsvImport, sniffed: Sniffed) -> Iterator[Checked]:
    """Every row validated by capture's own rules, with in-file duplicates marked."""
    org = Organization.current()
    digest = content_digest(sniffed.text)
    first_line: dict[str, int] = {}
    for row in rows(sniffed):
        checked = Checked(row)
        if row.error:
            checked.errors = {"__all__": [row.error]}
            yield checked
            continue
        data = row_input(imp, row, digest)
        try:
            clean = clean_input(data, org)
        except ValidationError as exc:
            checked.errors = {k: list(v) for k, v in exc.message_dict.items()}
            yield checked
            continue
        checked.email_normalized = clean.email_normalized
        checked.phone = clean.phone
        checked.key = clean.email_normalized or clean.phone
        data.external_id = external_id(clean.email_normalized, digest, row.line)
        clean.external_id = data.external_id
        checked.data = data
        checked.clean = clean
        if checked.key in first_line:
            checked.duplicate_of_line = first_line[checked.key]
        else:
            first_line[checked.key] = row.line
        yield checked


def _batches(items: Iterator[Checked], size: int = 1000) -> Iterator[list[Checked]]:
    batch: list[Checked] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _known(batch: list[Checked]) -> tuple[dict[str, str], dict[str, str], set[str]]:
    emails = {c.email_normalized for c in batch if c.email_normalized}
    phones = {c.phone for c in batch if c.phone and not c.email_normalized}
    by_email = (
        dict(
            Contact.objects.filter(email_normalized__in=emails).values_list(
                "email_normalized", "id"
            )
        )
        if emails
        else {}
    )
    by_phone = {}
    if phones:
        for phone, pk in Contact.objects.filter(phone__in=phones).values_list("phone", "id"):
            by_phone.setdefault(phone, pk)
    return by_email, by_phone, set()


@batch_cache()  # the organization, sources, custom fields: looked up once per import
def dry_run(
    imp: CsvImport, sniffed: Sniffed, progress: Callable[[int], None] | None = None
) -> dict:
    """The report of what running the import would do; writes only the report."""
    report: dict[str, Any] = {
        "total": 0,
        "valid": 0,
        "invalid": 0,
        "duplicates_in_file": 0,
        "duplicates_in_db": 0,
        "already_imported": 0,
        "will_create": 0,
        "invalid_rows": [],
        "duplicate_rows": [],
        "known_rows": [],
    }
    for batch in _batches(check_rows(imp, sniffed)):
        by_email, by_phone, _ = _known(batch)
        ids = [c.data.external_id for c in batch if c.data is not None]
        imported = set(
            Lead.objects.filter(source__slug=imp.lead_source_slug, external_id__in=ids).values_list(
                "external_id", flat=True
            )
        )
        for c in batch:
            report["total"] += 1
            if c.errors:
                report["invalid"] += 1
                if len(report["invalid_rows"]) < MAX_REPORTED_ROWS:
                    report["invalid_rows"].append({"line": c.row.line, "errors": c.errors})
                continue
            report["valid"] += 1
            if c.duplicate_of_line is not None:
                report["duplicates_in_file"] += 1
                if len(report["duplicate_rows"]) < MAX_REPORTED_ROWS:
                    report["duplicate_rows"].append(
                        {"line": c.row.line, "of_line": c.duplicate_of_line, "key": c.key}
                    )
                continue
            if c.data.external_id in imported:
                report["already_imported"] += 1
                continue
            contact_id = by_email.get(c.email_normalized) or by_phone.get(c.phone)
            if contact_id:
                report["duplicates_in_db"] += 1
                if len(report["known_rows"]) < MAX_REPORTED_ROWS:
                    report["known_rows"].append(
                        {"line": c.row.line, "contact_id": str(contact_id), "key": c.key}
                    )
            report["will_create"] += 1
        if progress:
            progress(report["total"])
    return report


def preview(sniffed: Sniffed, mapping: dict[str, str], limit: int = 8) -> list[dict[str, Any]]:
    """The first rows as they would be read: line, then each mapped field's value."""
    out = []
    for row in rows(sniffed):
        out.append(
            {
                "line": row.line,
                "values": [(row.values.get(h, "")) for h in sniffed.headers],
                "mapped": {t: row.values.get(h, "") for h, t in mapping.items()},
            }
        )
        if len(out) >= limit:
            break
    return out


# --- Creating and running an import ---------------------------------------------------------


@transaction.atomic
def create_import(
    actor: Actor, filename: str, data: bytes, *, source: str = "import"
) -> tuple[CsvImport, Sniffed]:
    """Store an uploaded file after checking it can be read; suggests a mapping."""
    from django.core.files.base import ContentFile

    sniffed = sniff(data)
    mapping, _ = suggest_mapping(sniffed.headers)
    imp = CsvImport(
        filename=(filename or "import.csv")[:200],
        content_sha256=content_digest(sniffed.text),
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        headers=sniffed.headers,
        mapping=mapping,
        lead_source_slug=source or "import",
        created_by=actor.user,
    )
    imp.file.save(f"{imp.pk}.csv", ContentFile(data), save=False)
    imp.save()
    audit_log.record(
        actor,
        "csv_import.uploaded",
        imp,
        changes={"filename": [None, imp.filename], "encoding": [None, imp.encoding]},
    )
    return imp, sniffed


def load(imp: CsvImport) -> Sniffed:
    with imp.file.open("rb") as handle:
        return sniff(handle.read())


def _set(imp: CsvImport, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(imp, name, value)
    CsvImport.objects.filter(pk=imp.pk).update(**fields, updated_at=timezone.now())


@transaction.atomic
def configure(
    actor: Actor,
    imp: CsvImport,
    *,
    mapping: dict[str, str],
    mode: str | None = None,
    source: str | None = None,
    acknowledge: bool | None = None,
) -> CsvImport:
    if imp.status not in {CsvImport.Status.UPLOADED, CsvImport.Status.CHECKED}:
        raise ValidationError({"__all__": "This import has already run."})
    cleaned = clean_mapping(imp.headers, mapping)
    fields: dict[str, Any] = {"mapping": cleaned, "status": CsvImport.Status.UPLOADED, "report": {}}
    if mode is not None:
        if mode not in CsvImport.Mode.values:
            raise ValidationError({"mode": "Choose skip invalid rows or all or nothing."})
        fields["mode"] = mode
    if source is not None:
        if not re.fullmatch(r"[a-z0-9_-]{1,50}", source):
            raise ValidationError({"source": "Use letters, digits, '-' or '_'."})
        fields["lead_source_slug"] = source
    if acknowledge is not None:
        fields["acknowledge"] = acknowledge
    _set(imp, **fields)
    remember_mapping(imp.headers, cleaned)
    return imp


def check(imp: CsvImport, progress: Callable[[int], None] | None = None) -> dict:
    sniffed = load(imp)
    report = dry_run(imp, sniffed, progress)
    _set(imp, report=report, total_rows=report["total"], status=CsvImport.Status.CHECKED)
    return report


@transaction.atomic
def queue(actor: Actor, imp: CsvImport) -> CsvImport:
    from throughline.intake.channels.tasks import run_csv_import

    updated = CsvImport.objects.filter(
        pk=imp.pk, status__in=[CsvImport.Status.UPLOADED, CsvImport.Status.CHECKED]
    ).update(status=CsvImport.Status.QUEUED, processed_rows=0, updated_at=timezone.now())
    if updated != 1:
        raise ValidationError({"__all__": "This import is already queued or has run."})
    imp.status = CsvImport.Status.QUEUED
    audit_log.record(actor, "csv_import.queued", imp, changes={"mode": [None, imp.mode]})
    run_csv_import.enqueue(str(imp.pk))
    return imp


@batch_cache()
def run(imp: CsvImport, actor: Actor, progress: Callable[[int], None] | None = None) -> dict:
    """Import every valid, not yet imported row (see the module docstring); returns counts."""
    sniffed = load(imp)
    if imp.mode == CsvImport.Mode.ALL_OR_NOTHING:
        report = imp.report if imp.report.get("total") is not None else dry_run(imp, sniffed)
        if report["invalid"]:
            raise ValidationError(
                {
                    "__all__": f"{report['invalid']} invalid rows: nothing was imported (all or nothing)."
                }
            )
    _set(
        imp, status=CsvImport.Status.RUNNING, started_at=timezone.now(), error="", processed_rows=0
    )
    result = {
        "created": 0,
        "linked": 0,
        "already_imported": 0,
        "invalid": 0,
        "duplicates_in_file": 0,
    }
    failures: list[dict] = []
    done = 0

    def count(created: bool, contact_created: bool) -> None:
        if not created:
            result["already_imported"] += 1
        elif contact_created:
            result["created"] += 1
        else:
            result["linked"] += 1

    def capture_one(c: Checked) -> None:
        try:
            captured = capture_lead(actor, c.data)
        except ValidationError as exc:
            if imp.mode == CsvImport.Mode.ALL_OR_NOTHING:
                raise ValidationError(
                    {
                        "__all__": f"Line {c.row.line}: {'; '.join(exc.messages)} — nothing was imported."
                    }
                ) from exc
            result["invalid"] += 1
            if len(failures) < MAX_REPORTED_ROWS:
                failures.append({"line": c.row.line, "errors": exc.message_dict})
            return
        count(captured.created, captured.contact_created)

    def capture_chunk(chunk: list[Checked]) -> None:
        nonlocal done
        bulk: list[Checked] = []
        for c in chunk:
            done += 1
            if c.errors:
                result["invalid"] += 1
            elif c.duplicate_of_line is not None:
                result["duplicates_in_file"] += 1
            elif bulk_capturable(c.data):
                c.clean.ip = c.clean.ip or actor.ip
                bulk.append(c)
            else:
                capture_one(c)
        if not bulk:
            return
        try:
            with transaction.atomic():
                outcomes = capture_many(actor, [(c.data, c.clean) for c in bulk])
        except (ValidationError, IntegrityError):
            # A row the batch cannot take (or a concurrent import of the same people): row by
            # row, which names the row and retries races.
            for c in bulk:
                capture_one(c)
            return
        for outcome in outcomes:
            count(outcome.created, outcome.contact_created)

    checked = check_rows(imp, sniffed)
    if imp.mode == CsvImport.Mode.ALL_OR_NOTHING:
        with transaction.atomic():
            for chunk in _batches(checked, CHUNK):
                capture_chunk(chunk)
                if progress:
                    progress(done)
    else:
        for chunk in _batches(checked, CHUNK):
            with transaction.atomic():
                capture_chunk(chunk)
            _set(imp, processed_rows=done)
            if progress:
                progress(done)
    result["failures"] = failures
    with transaction.atomic():
        _set(
            imp,
            status=CsvImport.Status.DONE,
            processed_rows=done,
            total_rows=done,
            result=result,
            finished_at=timezone.now(),
        )
        audit_log.record(
            actor,
            "csv_import.finished",
            imp,
            changes={k: [None, v] for k, v in result.items() if k != "failures"},
        )
    return result


def fail(imp: CsvImport, actor: Actor, message: str) -> None:
    with transaction.atomic():
        _set(imp, status=CsvImport.Status.FAILED, error=message[:2000], finished_at=timezone.now())
        audit_log.record(actor, "csv_import.failed", imp, changes={"error": [None, message[:300]]})
