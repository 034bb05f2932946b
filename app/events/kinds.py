"""The kinds of events and what each one's data may hold: ids, counts, versions, fixed vocabulary.

An event's data is delivered to webhooks outside the organisation and kept in the outbox, so it
never carries item content, label values or free text (rationales, comments, reasons, names):
only global ids (which a receiver resolves through the API, with its own permissions), numbers
and values of our enums. `data_of` enforces that: every key of a kind is declared here with its
type, and anything else is a programming error (TypeError), never a silently forwarded value.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.audits.models import AuditVerdict
from app.ids import encode_global_id
from app.workflow.models import DecisionMethod


class EventKind(enum.StrEnum):
    """What happened in a project."""

    ITEMS_IMPORTED = "ITEMS_IMPORTED"
    LABEL_SUBMITTED = "LABEL_SUBMITTED"
    ITEM_DECIDED = "ITEM_DECIDED"  # the first decision on an item
    DECISION_CHANGED = "DECISION_CHANGED"  # a later decision version (review, expert, audit, re-estimate)
    ITEM_ESCALATED = "ITEM_ESCALATED"
    AUDIT_FINISHED = "AUDIT_FINISHED"
    SCHEMA_APPROVED = "SCHEMA_APPROVED"
    GUIDELINE_PUBLISHED = "GUIDELINE_PUBLISHED"
    CONSENT_REVOKED = "CONSENT_REVOKED"  # items of this project withdrawn by a revocation (org-wide)
    AUTO_ACCEPT_TURNED_OFF = (
        "AUTO_ACCEPT_TURNED_OFF"  # spot checks fell under the floor (app/automation/auto_accept.py)
    )


@dataclass(frozen=True)
class Id:
    """A global id of an object of this type (or null when optional)."""

    type_name: str
    optional: bool = False


@dataclass(frozen=True)
class Ids:
    """A list of global ids of this type."""

    type_name: str


@dataclass(frozen=True)
class Int:
    optional: bool = False


@dataclass(frozen=True)
class Vocabulary:
    """A value of one of our enums (a method, a verdict, where an escalation came from)."""

    of: type[enum.StrEnum]


FieldType = Id | Ids | Int | Vocabulary


class EscalationSource(enum.StrEnum):
    SETTLING = "SETTLING"  # confidence stayed low at max overlap
    REVIEW = "REVIEW"  # a reviewer escalated an item in review
    AUDIT = "AUDIT"  # a QA auditor escalated a final item


FIELDS: dict[EventKind, dict[str, FieldType]] = {
    EventKind.ITEMS_IMPORTED: {"itemIds": Ids("Item"), "count": Int()},
    EventKind.LABEL_SUBMITTED: {
        "labelId": Id("Label"),
        "itemId": Id("Item"),
        "assignmentId": Id("Assignment"),
        "schemaVersion": Int(),
        "guidelineVersion": Int(optional=True),
    },
    EventKind.ITEM_DECIDED: {
        "itemId": Id("Item"),
        "decisionId": Id("Decision"),
        "version": Int(),
        "method": Vocabulary(DecisionMethod),
    },
    EventKind.DECISION_CHANGED: {
        "itemId": Id("Item"),
        "decisionId": Id("Decision"),
        "version": Int(),
        "method": Vocabulary(DecisionMethod),
        "previousDecisionId": Id("Decision"),
        "previousVersion": Int(),
    },
    EventKind.ITEM_ESCALATED: {
        "itemId": Id("Item"),
        "escalationId": Id("Escalation"),
        "source": Vocabulary(EscalationSource),
    },
    EventKind.AUDIT_FINISHED: {
        "auditId": Id("QaAudit"),
        "itemId": Id("Item"),
        "verdict": Vocabulary(AuditVerdict),
        "auditedDecisionId": Id("Decision"),
        "newDecisionId": Id("Decision", optional=True),
    },
    EventKind.SCHEMA_APPROVED: {
        "changeRequestId": Id("SchemaChangeRequest"),
        "schemaVersion": Int(),
        "previousVersion": Int(),
    },
    EventKind.GUIDELINE_PUBLISHED: {"guidelineVersionId": Id("GuidelineVersion"), "version": Int()},
    EventKind.CONSENT_REVOKED: {"itemIds": Ids("Item"), "count": Int()},
    EventKind.AUTO_ACCEPT_TURNED_OFF: {"spotChecks": Int(), "agreeing": Int()},
}


def data_of(kind: EventKind, values: Mapping[str, Any]) -> dict[str, Any]:
    """The event's data in its public form (global ids), checked against the kind's declaration."""
    declared = FIELDS[kind]
    if set(values) != set(declared):
        raise TypeError(f"{kind}: data keys {sorted(values)} are not {sorted(declared)}")
    data: dict[str, Any] = {}
    for key, value in values.items():
        data[key] = _public(kind, key, declared[key], value)
    return data


def _public(kind: EventKind, key: str, spec: FieldType, value: Any) -> Any:
    if isinstance(spec, Id):
        if value is None and spec.optional:
            return None
        if not isinstance(value, uuid.UUID):
            raise TypeError(f"{kind}.{key} is the uuid of a {spec.type_name}")
        return encode_global_id(spec.type_name, value)
    if isinstance(spec, Ids):
        if not isinstance(value, list | tuple) or not all(isinstance(v, uuid.UUID) for v in value):
            raise TypeError(f"{kind}.{key} is a list of uuids of {spec.type_name}")
        return [encode_global_id(spec.type_name, v) for v in value]
    if isinstance(spec, Int):
        if value is None and spec.optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{kind}.{key} is an integer")
        return value
    if not isinstance(value, spec.of):
        raise TypeError(f"{kind}.{key} is a {spec.of.__name__}")
    return value.value
