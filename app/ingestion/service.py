"""Importing items: every row validated first, then one bulk insert, or nothing at all."""

from __future__ import annotations

import hmac
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import json_bounds
from app.auth.actor import Actor
from app.automation import heuristics
from app.clock import utcnow
from app.compliance import audit
from app.consent import reads as consent_reads
from app.consent import service as consent_service
from app.db import bulk_read
from app.errors import DomainError, Problem
from app.events import outbox as events
from app.events.kinds import EventKind
from app.expertise.models import GoldAnswer
from app.expertise.service import SET_GOLD_ANSWERS
from app.expertise.service import check_value as check_gold
from app.ids import new_id
from app.ingestion.anonymize.policy import DuplicateContent, Policy
from app.ingestion.models import Item, ItemStatus
from app.operations import Operation, Permission, bound_input, rebind_input
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import active_schema

IMPORT_ITEMS = Operation("importItems", Permission("item", "import"), audit="item.import")

MAX_EXTERNAL_ID = 255
MAX_ITEM_BYTES = 256 * 1024  # of data, and of metadata, as canonical JSON
# Hand-out order needs no more; beyond it a priority is a mistake (or 1e308).
MAX_PRIORITY = 1e9
# Well under SQLite's bound-parameter limit, and a sane IN () list for PostgreSQL.
LOOKUP_CHUNK = 900


@dataclass(frozen=True)
class NewItem:
    external_id: Any
    data: Any
    metadata: Any = None
    priority: Any = 0.0
    gold: Any = None  # the known answer: the item is a gold question (app/expertise)
    consent_id: uuid.UUID | None = None  # the consent record it is imported under (app/consent)


@dataclass(frozen=True)
class ImportResult:
    project_id: uuid.UUID
    created: int
    item_ids: list[uuid.UUID] = field(default_factory=list)
    # Rows whose content the project already held, or an earlier row of the call had (imported
    # under DuplicateContent.ALLOW; under REJECT they are DUPLICATE_CONTENT errors instead).
    duplicate_rows: list[int] = field(default_factory=list)


def _canonical(data: Any) -> str:
    """The form content hashes are taken over: sorted keys, no spaces, UTF-8 (not \\u escapes)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def import_items(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    rows: Sequence[NewItem],
    *,
    max_items: int,
    hash_key: bytes,
) -> ImportResult:
    """Import rows into a project. With the project's anonymization on, each row's data is
    anonymized before anything is stored, and the raw data reaches neither the item, nor the
    audit event (its input digest covers the content hashes instead), nor an error message."""
    project = await find_project(session, actor, project_id)
    IMPORT_ITEMS.require(actor, project.id)
    if not rows:
        raise DomainError.single("EMPTY_BATCH", "Send at least one item.", "items")
    if len(rows) > max_items:
        raise DomainError.single("BATCH_TOO_LARGE", f"At most {max_items} items per call.", "items")

    policy = Policy.of(project.anonymize, project.anonymization, project.duplicate_content)
    # Up to 10,000 rows (and their placeholders) are built while the request's input is alive:
    # the cyclic collector would walk all of it every few hundred allocations. Rows hold no cycles.
    with bulk_read():
        problems, values = _validate_rows(rows, hash_key, policy)
    if policy.enabled:
        _digest_without_data(session, {v["row"]: v["content_hash"] for v in values})
    golds = {v["row"]: rows[v["row"]].gold for v in values if rows[v["row"]].gold is not None}
    if golds:
        SET_GOLD_ANSWERS.require(actor, project.id)
        schema = (await active_schema(session, project)).schema
        for v in values:
            if v["row"] in golds:
                item = {"data": v["data"], "metadata": v["meta"]}
                problems += check_gold(schema, golds[v["row"]], item, f"items.{v['row']}.gold")
                v["gold"] = True
    problems += await _conflicts(session, project.id, {v["row"]: v["external_id"] for v in values})
    consent_problems, subjects, lapses = await _consents(session, project, rows)
    problems += consent_problems
    duplicates = await _duplicates(session, project.id, {v["row"]: v["content_hash"] for v in values})
    if policy.duplicate_content is DuplicateContent.REJECT:
        problems += [
            Problem(
                "DUPLICATE_CONTENT",
                "The project already holds this content, or an earlier row of the call has it.",
                f"items.{row}.data",
            )
            for row in duplicates
        ]
    if problems:
        raise DomainError(problems)
    answers = [(v, golds[v["row"]]) for v in values if v["row"] in golds]
    for v in values:
        row = v.pop("row", None)
        v.setdefault("gold", False)
        if row is not None:
            v["consent_id"] = rows[row].consent_id
            v["subject_ref"] = subjects.get(row)
            v["consent_lapse_at"] = lapses.get(row)

    now = utcnow()
    for value in values:
        value.update(
            id=new_id(),
            project_id=project.id,
            status=ItemStatus.QUEUED,
            labels_required=project.overlap,
            created_at=now,
        )
    # Core, not ORM: 10,000 rows skip the unit of work and its per-row bookkeeping.
    await session.execute(insert(Item.__table__), values)  # type: ignore[attr-defined]
    if answers:
        await session.execute(
            insert(GoldAnswer),
            [
                {"item_id": v["id"], "project_id": project.id, "value": gold, "set_by": actor.id, "set_at": now}
                for v, gold in answers
            ],
        )
    # The project's heuristic rules suggest for the new items, in this transaction (app/automation).
    suggested = await heuristics.suggest_at_import(session, actor, project, values)
    await audit.record(
        session,
        actor,
        IMPORT_ITEMS.audit,
        "Project",
        project.id,
        project_id=project.id,
        request=[v["content_hash"] for v in values],
        details={
            "count": len(values),
            "gold": len(answers),
            "withConsent": len(subjects),
            "first": str(values[0]["id"]),
            "last": str(values[-1]["id"]),
            "duplicates": len(duplicates),
            **({"heuristicSuggestions": suggested} if suggested else {}),
            **(_anonymization_details(values) if policy.enabled else {}),
        },
    )
    ids = [v["id"] for v in values]
    events.emit(session, project.id, EventKind.ITEMS_IMPORTED, {"itemIds": ids, "count": len(ids)})
    return ImportResult(project.id, len(values), ids, duplicates)


async def _consents(
    session: AsyncSession, project: Project, rows: Sequence[NewItem]
) -> tuple[list[Problem], dict[int, str], dict[int, datetime]]:
    """Every row's consent: required in a project that says so, and when named, a record in force
    that covers annotation (checked whether or not the project requires it). Returns the problems
    and, per row with a record, the subject and (when it has one) the expiry to copy onto the item."""
    named = [row.consent_id for row in rows if row.consent_id is not None]
    found = await consent_reads.for_import(session, named) if named else {}
    now = utcnow()
    problems: list[Problem] = []
    subjects: dict[int, str] = {}
    lapses: dict[int, datetime] = {}
    for i, row in enumerate(rows):
        at = f"items.{i}.consentId"
        if row.consent_id is None:
            if project.consent_required:
                problems.append(Problem("CONSENT_MISSING", "This project requires a consent record per item.", at))
            continue
        problem = consent_service.import_problem(found.get(row.consent_id), now, at)
        if problem is not None:
            problems.append(problem)
        else:
            record = found[row.consent_id].record
            subjects[i] = record.subject_ref
            if record.expires_at is not None:
                lapses[i] = record.expires_at
    return problems, subjects, lapses


def _anonymization_details(values: list[dict[str, Any]]) -> dict[str, Any]:
    """The audit's view of an anonymized import: who anonymized and how many values per kind."""
    totals: dict[str, int] = {}
    for v in values:
        for kind, n in v["redactions"].items():
            totals[kind] = totals.get(kind, 0) + n
    return {
        "anonymizer": values[0]["anonymizer"],
        "anonymizerVersion": values[0]["anonymizer_version"],
        "redactions": dict(sorted(totals.items())),
    }


def _digest_without_data(session: AsyncSession, hashes: dict[int, str]) -> None:
    """The audit digest of an anonymized import covers each row's content hash, not its data."""
    bound = bound_input(session)
    if bound is None:
        return
    payload = bound["input"]
    items = [{**item, "data": hashes.get(i, "<invalid>")} for i, item in enumerate(payload.get("items", ()))]
    rebind_input(session, {**bound, "input": {**payload, "items": items}})


def _validate_rows(
    rows: Sequence[NewItem], hash_key: bytes, policy: Policy
) -> tuple[list[Problem], list[dict[str, Any]]]:
    anonymizer = policy.anonymizer() if policy.enabled else None
    problems: list[Problem] = []
    values: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        at = f"items.{i}"
        before = len(problems)
        ext = row.external_id
        if not isinstance(ext, str) or not ext.strip() or len(ext) > MAX_EXTERNAL_ID:
            problems.append(Problem("INVALID_EXTERNAL_ID", "externalId has 1 to 255 characters.", f"{at}.externalId"))
        elif ext in seen:
            problems.append(
                Problem("DUPLICATE_IN_BATCH", f"externalId '{ext}' repeats row {seen[ext]}.", f"{at}.externalId")
            )
        else:
            seen[ext] = i
            problems.extend(json_bounds.check_text(ext, f"{at}.externalId"))
        if not isinstance(row.data, dict) or not row.data:
            problems.append(Problem("INVALID_DATA", "data must be a non-empty JSON object.", f"{at}.data"))
            continue
        meta = {} if row.metadata is None else row.metadata
        if not isinstance(meta, dict):
            problems.append(Problem("INVALID_METADATA", "metadata must be a JSON object.", f"{at}.metadata"))
        priority = row.priority
        if not isinstance(priority, int | float) or isinstance(priority, bool) or not math.isfinite(priority):
            problems.append(Problem("INVALID_PRIORITY", "priority must be a finite number.", f"{at}.priority"))
        elif abs(priority) > MAX_PRIORITY:
            problems.append(Problem("OUT_OF_RANGE", "priority must lie within -1e9..1e9.", f"{at}.priority"))
        # Bounds first: an over-deep document must not reach the (recursive) JSON encoder.
        bounded = json_bounds.check(row.data, f"{at}.data")
        if meta:
            bounded += json_bounds.check(meta, f"{at}.metadata")
        if bounded:
            problems.extend(bounded)
            continue
        canonical = _canonical(row.data)
        if len(canonical) > MAX_ITEM_BYTES:
            problems.append(Problem("TOO_LARGE", f"data is over {MAX_ITEM_BYTES} bytes.", f"{at}.data"))
        if meta and len(json.dumps(meta, separators=(",", ":"), ensure_ascii=False)) > MAX_ITEM_BYTES:
            problems.append(Problem("TOO_LARGE", f"metadata is over {MAX_ITEM_BYTES} bytes.", f"{at}.metadata"))
        if len(problems) != before:
            continue
        value = {
            "external_id": ext,
            "data": row.data,
            "meta": meta,
            "priority": float(priority),
            "content_hash": hmac.new(hash_key, canonical.encode(), "sha256").hexdigest(),
            "row": i,
        }
        if anonymizer is not None:
            anonymized = anonymizer.anonymize(row.data)
            # Placeholders can be longer than what they replace.
            if len(_canonical(anonymized.data)) > MAX_ITEM_BYTES:
                problems.append(
                    Problem("TOO_LARGE", f"data is over {MAX_ITEM_BYTES} bytes once anonymized.", f"{at}.data")
                )
                continue
            value.update(
                data=anonymized.data,
                anonymizer=anonymizer.name,
                anonymizer_version=anonymizer.version,
                redactions=dict(sorted(anonymized.counts.items())),
            )
        values.append(value)
    return problems, values


async def _duplicates(session: AsyncSession, project_id: uuid.UUID, hashes: dict[int, str]) -> list[int]:
    """Rows whose content hash the project already holds or an earlier row of the call has."""
    first: dict[str, int] = {}
    repeats: list[int] = []
    for row, digest in hashes.items():
        if digest in first:
            repeats.append(row)
        else:
            first[digest] = row
    unique = list(first)
    held: set[str] = set()
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        found = await session.scalars(
            select(Item.content_hash).where(Item.project_id == project_id, col(Item.content_hash).in_(chunk))
        )
        held.update(found)
    return sorted(repeats + [first[digest] for digest in held])


async def _conflicts(session: AsyncSession, project_id: uuid.UUID, rows: dict[int, str]) -> list[Problem]:
    """Rows whose externalId the project already holds; `rows` maps row number to externalId."""
    position = {ext: i for i, ext in rows.items()}
    external_ids = list(position)
    taken: list[str] = []
    for start in range(0, len(external_ids), LOOKUP_CHUNK):
        chunk = external_ids[start : start + LOOKUP_CHUNK]
        found = await session.scalars(
            select(Item.external_id).where(Item.project_id == project_id, col(Item.external_id).in_(chunk))
        )
        taken.extend(found)
    return [
        Problem(
            "EXTERNAL_ID_EXISTS",
            f"externalId '{ext}' is already imported.",
            f"items.{position[ext]}.externalId",
        )
        for ext in sorted(taken, key=position.__getitem__)
    ]
