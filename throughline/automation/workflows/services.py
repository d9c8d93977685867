"""Every write to workflows: create, edit (a new version), switch on/off, import, export.

A definition is validated in full before anything is written, and each operation is one
transaction: a workflow never half-saves, and an import of several saves all or none.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.automation.models import Workflow, WorkflowVersion
from throughline.automation.workflows.definition import DefinitionError, validate_definition
from throughline.automation.workflows.triggers import schedule_next
from throughline.core import audit_log
from throughline.core.actor import Actor

EXPORT_FORMAT = "throughline.workflow/1"
KEY = re.compile(r"^[a-z0-9][a-z0-9-_]{0,79}$")
MAX_IMPORT_BYTES = 1_000_000


def _check_header(key: Any, name: Any, problems: list[str], prefix: str = "") -> None:
    if not isinstance(key, str) or not KEY.match(key):
        problems.append(f"{prefix}key: use lower-case letters, digits, '-' or '_' (got {key!r})")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{prefix}name: give the workflow a name")
    elif len(name) > 200:
        problems.append(f"{prefix}name: at most 200 characters")


def _add_version(actor: Actor, workflow: Workflow, definition: dict, note: str) -> WorkflowVersion:
    last = workflow.versions.order_by("-number").values_list("number", flat=True).first() or 0
    trigger = definition["trigger"]
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        number=last + 1,
        definition=definition,
        trigger_type=trigger["type"],
        trigger_event=trigger.get("event", ""),
        absence_event=trigger.get("missing", ""),
        subject_type=definition.get("subject", ""),
        note=note[:200],
        created_by=actor.user,
    )
    workflow.current_version = version
    workflow.save(update_fields=["current_version", "updated_at"])
    return version


@transaction.atomic
def create_workflow(
    actor: Actor,
    *,
    key: str,
    name: str,
    definition: Any,
    description: str = "",
    is_active: bool = True,
    note: str = "",
) -> Workflow:
    problems: list[str] = []
    _check_header(key, name, problems)
    if not problems and Workflow.objects.filter(key=key).exists():
        problems.append(f"key: a workflow {key!r} exists already")
    if problems:
        raise DefinitionError(problems)
    cleaned = validate_definition(definition, workflow_key=key, check_graph=is_active)
    workflow = Workflow.objects.create(
        key=key,
        name=name.strip(),
        description=(description or "").strip(),
        is_active=is_active,
        created_by=actor.user,
    )
    version = _add_version(actor, workflow, cleaned, note or "Created")
    schedule_next(workflow)
    audit_log.record(
        actor,
        "workflow.created",
        workflow,
        changes={"version": [None, version.number], "active": [None, is_active]},
    )
    return workflow


@transaction.atomic
def save_version(
    actor: Actor,
    workflow: Workflow,
    definition: Any,
    *,
    name: str | None = None,
    description: str | None = None,
    note: str = "",
) -> WorkflowVersion:
    """Edit a workflow: a new version when the definition changed. Runs keep their version."""
    workflow = (
        Workflow.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=workflow.pk)
    )
    problems: list[str] = []
    _check_header(workflow.key, name if name is not None else workflow.name, problems)
    if problems:
        raise DefinitionError(problems)
    cleaned = validate_definition(
        definition, workflow_key=workflow.key, check_graph=workflow.is_active
    )
    changes: dict[str, list] = {}
    if name is not None and name.strip() != workflow.name:
        changes["name"] = [workflow.name, name.strip()]
        workflow.name = name.strip()
    if description is not None and description.strip() != workflow.description:
        changes["description"] = [workflow.description, description.strip()]
        workflow.description = description.strip()
    current = workflow.current_version
    if changes:
        workflow.save(update_fields=["name", "description", "updated_at"])
    if current is not None and current.definition == cleaned:
        if changes:
            audit_log.record(actor, "workflow.updated", workflow, changes=changes)
        return current
    version = _add_version(actor, workflow, cleaned, note or "Edited")
    changes["version"] = [current.number if current else None, version.number]
    schedule_next(workflow)
    audit_log.record(actor, "workflow.version_saved", workflow, changes=changes)
    return version


@transaction.atomic
def set_active(actor: Actor, workflow: Workflow, active: bool) -> Workflow:
    workflow = (
        Workflow.objects.select_for_update(of=("self",))
        .select_related("current_version")
        .get(pk=workflow.pk)
    )
    if workflow.is_active == active:
        return workflow
    if active and workflow.current_version is not None:
        # Switching on may close a loop with the workflows that are on now.
        validate_definition(workflow.current_version.definition, workflow_key=workflow.key)
    workflow.is_active = active
    workflow.save(update_fields=["is_active", "updated_at"])
    schedule_next(workflow)
    audit_log.record(
        actor,
        "workflow.activated" if active else "workflow.deactivated",
        workflow,
        changes={"active": [not active, active]},
    )
    return workflow


# --- export / import ------------------------------------------------------------------------


def export_workflow(workflow: Workflow, version: WorkflowVersion | None = None) -> dict:
    version = version or workflow.current_version
    return {
        "format": EXPORT_FORMAT,
        "key": workflow.key,
        "name": workflow.name,
        "description": workflow.description,
        "active": workflow.is_active,
        "version": version.number if version else None,
        "definition": version.definition if version else None,
    }


def export_json(workflows: list[Workflow]) -> str:
    documents = [export_workflow(w) for w in workflows]
    payload: Any = documents[0] if len(documents) == 1 else {"workflows": documents}
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False)


def parse_import(raw: str | bytes) -> list[dict]:
    """The workflow documents in an export file, or a DefinitionError saying why not."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_IMPORT_BYTES:
            raise DefinitionError([f"file: larger than {MAX_IMPORT_BYTES // 1000} kB"])
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError(["file: not UTF-8 text"]) from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            [f"file: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"]
        ) from exc
    if isinstance(data, dict) and "workflows" in data:
        data = data["workflows"]
    documents = data if isinstance(data, list) else [data]
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise DefinitionError(["file: expected a workflow export (a JSON object)"])
    return documents


@transaction.atomic
def import_workflows(actor: Actor, raw: str | bytes) -> list[tuple[Workflow, str]]:
    """Create workflows, or add a version to those whose key exists. All or nothing."""
    documents = parse_import(raw)
    problems: list[str] = []
    results: list[tuple[Workflow, str]] = []
    keys = [d.get("key") for d in documents]
    for index, document in enumerate(documents):
        label = (
            f"workflow {document.get('key')!r}: "
            if document.get("key")
            else f"workflows[{index}]: "
        )
        if document.get("format", EXPORT_FORMAT) != EXPORT_FORMAT:
            problems.append(f"{label}format: expected {EXPORT_FORMAT!r}")
            continue
        if keys.count(document.get("key")) > 1:
            problems.append(f"{label}key: appears more than once in the file")
            continue
        _check_header(document.get("key"), document.get("name"), problems, label)
        if problems:
            continue
        try:
            with transaction.atomic():
                existing = Workflow.objects.filter(key=document["key"]).first()
                if existing is None:
                    workflow = create_workflow(
                        actor,
                        key=document["key"],
                        name=document["name"],
                        description=document.get("description") or "",
                        definition=document.get("definition"),
                        is_active=bool(document.get("active", True)),
                        note="Imported",
                    )
                    results.append((workflow, "created"))
                else:
                    version = save_version(
                        actor,
                        existing,
                        document.get("definition"),
                        name=document["name"],
                        description=document.get("description") or "",
                        note="Imported",
                    )
                    results.append((existing, f"version {version.number}"))
        except ValidationError as exc:
            problems.extend(f"{label}{message}" for message in exc.messages)
    if problems:
        # Raising rolls back every workflow this import created or changed.
        raise DefinitionError(problems)
    return results
