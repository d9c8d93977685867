"""The registries that let other apps plug into automation without the engine importing them.

* **Subjects** — what a workflow is about (``crm.contact``, ``crm.task``, later
  ``sales.deal``, ``billing.invoice``): how to load one from an event's
  ``subject_type``/``subject_id``, which fields conditions may compare, who its contact and
  owner are.
* **Relations** — how to get from an event's subject to a workflow's subject
  (``crm.task`` → its ``crm.contact``).
* **Setters** — the status/stage fields a workflow may change, each through the owning app's
  service (``register_setter("sales.deal", "stage", set_stage, …)``).
* **Actions** — what a step does: ``register_action(name, schema, fn)``. ``fn(ctx, params)``
  runs inside the step's transaction (its effect commits with the step's status, exactly
  once) and returns a JSON-able dict shown in the run log. Slow or external work (an HTTP
  call) must be *enqueued* there, not performed inline; ``ctx.idempotency_key`` is unique per
  (workflow version, trigger, subject, step) for the receiving ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

if TYPE_CHECKING:
    from throughline.automation.models import WorkflowRun
    from throughline.core.actor import Actor
    from throughline.core.models import DomainEvent

# --- subjects -------------------------------------------------------------------------------

FIELD_TYPES = ("text", "number", "date", "datetime", "boolean", "choice", "user", "list")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str = ""
    choices: tuple[str, ...] = ()
    getter: Callable[[Any], Any] | None = None

    def value_of(self, obj: Any) -> Any:
        if self.getter is not None:
            return self.getter(obj)
        return getattr(obj, self.name, None)


@dataclass
class SubjectType:
    key: str
    label: str
    model: type[models.Model]
    fields: dict[str, FieldSpec]
    custom_entity: str = ""  # crm.CustomFieldDefinition.Entity for ``custom.<key>`` fields
    contact_of: Callable[[Any], Any] | None = None
    owner_of: Callable[[Any], Any] | None = None
    assign_owner: Callable[[Actor, Any, Any], Any] | None = None
    url_of: Callable[[Any], str] | None = None
    queryset: Callable[[], models.QuerySet] | None = None

    def get(self, subject_id: str) -> Any | None:
        try:
            return self.model._default_manager.filter(pk=subject_id).first()
        except (ValueError, TypeError, ValidationError):  # malformed id for the pk type
            return None

    def all(self) -> models.QuerySet:
        if self.queryset is not None:
            return self.queryset()
        return self.model._default_manager.all()


_subjects: dict[str, SubjectType] = {}
_relations: dict[tuple[str, str], Callable[[Any], Any]] = {}


def register_subject(subject: SubjectType) -> SubjectType:
    _subjects[subject.key] = subject
    return subject


def subject_types() -> dict[str, SubjectType]:
    return dict(_subjects)


def subject_type(key: str) -> SubjectType | None:
    return _subjects.get(key)


def register_relation(from_type: str, to_type: str, fn: Callable[[Any], Any]) -> None:
    """``fn(obj of from_type) -> obj of to_type or None``."""
    _relations[(from_type, to_type)] = fn


def resolve_subject(subject_type_key: str, subject_id: str) -> Any | None:
    subject = _subjects.get(subject_type_key)
    if subject is None or not subject_id:
        return None
    return subject.get(subject_id)


def subject_for_event(event: DomainEvent, wanted_type: str) -> tuple[str, Any | None]:
    """The workflow's subject for an event: the event's own subject, or one related to it.

    Returns ``(subject_id, obj)``; ``("", None)`` when the event says nothing about such a
    subject (a ``task.created`` without a contact, for a contact workflow).
    """
    if event.subject_type == wanted_type:
        obj = resolve_subject(wanted_type, event.subject_id)
        return (event.subject_id, obj) if obj is not None else ("", None)
    relation = _relations.get((event.subject_type, wanted_type))
    if relation is not None:
        source = resolve_subject(event.subject_type, event.subject_id)
        obj = relation(source) if source is not None else None
        return (str(obj.pk), obj) if obj is not None else ("", None)
    # A record that points to exactly one of the wanted kind (a deal's or invoice's contact).
    source_spec, target_spec = _subjects.get(event.subject_type), _subjects.get(wanted_type)
    if source_spec is not None and target_spec is not None:
        pointers = [
            f
            for f in source_spec.model._meta.concrete_fields
            if isinstance(f, models.ForeignKey) and f.related_model is target_spec.model
        ]
        if len(pointers) == 1:
            source = source_spec.get(event.subject_id)
            obj = getattr(source, pointers[0].name) if source is not None else None
            return (str(obj.pk), obj) if obj is not None else ("", None)
    # Events name related records in their payload: ``contact_id`` for a crm.contact.
    model_name = wanted_type.rsplit(".", 1)[-1]
    related_id = (event.payload or {}).get(f"{model_name}_id")
    if related_id:
        obj = resolve_subject(wanted_type, str(related_id))
        return (str(obj.pk), obj) if obj is not None else ("", None)
    return "", None


# --- merge fields (extra template context for e-mails about a subject) -------------------

_merge_fields: dict[str, Callable[[str], dict[str, Any]]] = {}


def register_merge_fields(subject_type_key: str, fn: Callable[[str], dict[str, Any]]) -> None:
    """``fn(subject_id) -> dict`` added to the context of sequence e-mails about the subject
    (``intake.lead`` adds ``lead``, ``owner``, ``booking_link``)."""
    _merge_fields[subject_type_key] = fn


def merge_fields_for(subject_type_key: str, subject_id: str) -> dict[str, Any]:
    fn = _merge_fields.get(subject_type_key)
    return fn(subject_id) if fn is not None and subject_id else {}


# --- setters (change a status / stage field through its app's service) ---------------------


@dataclass(frozen=True)
class Setter:
    subject_type: str
    field: str  # a field name, or "custom.*" for every custom field of the subject
    fn: Callable[[Actor, Any, str, Any], Any]  # (actor, subject, field, value)
    label: str = ""
    value_type: str = "text"
    choices: tuple[str, ...] = ()


_setters: dict[tuple[str, str], Setter] = {}


def register_setter(
    subject_type_key: str,
    field_name: str,
    fn: Callable[[Actor, Any, str, Any], Any],
    *,
    label: str = "",
    value_type: str = "text",
    choices: Iterable[str] = (),
) -> None:
    _setters[(subject_type_key, field_name)] = Setter(
        subject_type_key, field_name, fn, label or field_name, value_type, tuple(choices)
    )


def setter_for(subject_type_key: str, field_name: str) -> Setter | None:
    found = _setters.get((subject_type_key, field_name))
    if found is None and field_name.startswith("custom."):
        found = _setters.get((subject_type_key, "custom.*"))
    return found


def setters_for(subject_type_key: str) -> list[Setter]:
    return [s for (key, _), s in _setters.items() if key == subject_type_key]


# --- actions --------------------------------------------------------------------------------

PARAM_TYPES = (
    "text",  # one line; merge fields like {{ subject.first_name }} are filled at run time
    "longtext",
    "integer",
    "boolean",
    "choice",
    "email",
    "user",  # an active user's e-mail, or "subject_owner"
    "template",  # an e-mail template key
    "sequence",  # a sequence key
    "field",  # a field of the subject (conditions, waits)
    "date_field",  # a date or datetime field of the subject
    "setter_field",  # a field with a registered setter for the subject
    "any",  # free JSON value, checked by the action itself
)


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "text"
    label: str = ""
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""
    min: int | None = None
    max: int | None = None


@dataclass
class ActionContext:
    """What an action sees: who acts, on what, why, and its idempotency key."""

    actor: Actor
    subject_type: str
    subject: Any | None
    event: DomainEvent | None
    run: WorkflowRun | None
    step_id: str
    idempotency_key: str
    now: dt.datetime
    extra: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"automation.run:{self.run.pk}" if self.run is not None else "automation"


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    params: tuple[Param, ...]
    fn: Callable[[ActionContext, dict], dict | None] | None
    # Events its effect emits, for the static cycle check: a tuple, or a dict of subject type
    # -> tuple when it depends on the subject (assigning an owner emits contact.updated …).
    emits: tuple[str, ...] | dict[str, tuple[str, ...]] = ()
    subjects: tuple[str, ...] | None = None  # subject types it works on; None = any
    describe: Callable[[dict], str] | None = None
    # Cross-parameter checks: ``check(params, subject_type) -> [problem, …]``.
    check: Callable[[dict, str], list[str]] | None = None
    needs_contact: bool = False
    is_wait: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def emits_for(self, subject_type_key: str) -> tuple[str, ...]:
        if isinstance(self.emits, dict):
            return tuple(self.emits.get(subject_type_key, ()))
        return tuple(self.emits)


_actions: dict[str, Action] = {}


def _params_from_schema(schema: Any) -> tuple[Param, ...]:
    """``schema``: Params, or ``{"title": {"type": "text", "required": True}, …}``."""
    if isinstance(schema, dict):
        params = []
        for name, spec in schema.items():
            spec = dict(spec or {})
            if "choices" in spec:
                spec["choices"] = tuple(spec["choices"])
            params.append(Param(name=name, **spec))
        return tuple(params)
    return tuple(schema or ())


def register_action(
    name: str,
    schema: Any,
    fn: Callable[[ActionContext, dict], dict | None] | None,
    *,
    label: str = "",
    emits: Iterable[str] | dict[str, tuple[str, ...]] = (),
    subjects: Iterable[str] | None = None,
    describe: Callable[[dict], str] | None = None,
    check: Callable[[dict, str], list[str]] | None = None,
    needs_contact: bool = False,
    is_wait: bool = False,
) -> Action:
    """Add (or replace) an action. ``schema`` is ``{param: {"type": …, "required": …}}``."""
    params = _params_from_schema(schema)
    for param in params:
        if param.type not in PARAM_TYPES:
            raise ValueError(f"Action {name}: unknown parameter type {param.type!r}")
    action = Action(
        name=name,
        label=label or name,
        params=params,
        fn=fn,
        emits=dict(emits) if isinstance(emits, dict) else tuple(emits),
        subjects=tuple(subjects) if subjects is not None else None,
        describe=describe,
        check=check,
        needs_contact=needs_contact,
        is_wait=is_wait,
    )
    _actions[name] = action
    return action


def action(name: str) -> Action | None:
    return _actions.get(name)


def actions() -> dict[str, Action]:
    return dict(sorted(_actions.items()))
