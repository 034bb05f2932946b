"""A project's heuristic rules: regular expressions or keyword lists on an item field, each mapping
to a class of a single-choice field with a confidence, run at import as the project's own
suggester (the model `heuristics`, kind HEURISTIC, version = the rules' version).

- **Rules** (`setHeuristicRules`, `suggestion configure`, audited): `{name, itemField, pattern |
  keywords, field, class, confidence}`. `itemField` is a key of the item's data, dotted for nested
  objects (`meta.title` reads `data["meta"]["title"]`); only text values are matched. Patterns run
  on RE2 and are checked as anonymization rules' are (`UNSUPPORTED_PATTERN`, `MATCHES_EMPTY`,
  `PATTERN_TOO_LONG`); a pattern is searched anywhere in the text (anchor it to match all of it).
  Keywords match whole words in any letter case (a space matches any run of white space). Every
  change bumps `project.heuristics_version` and registers that version (its rules as the
  version's parameters), so each suggestion says which rules made it.
- **At import** (`suggest_at_import`, called by ingestion in the import's own transaction): for
  each item and field, the matching rule of highest confidence (the earlier rule on a tie) gives
  the class; the suggestion's confidence is the lowest of its fields'. The value is checked as any
  suggestion's against the schema in force; rules whose field or class that schema no longer has
  are skipped, and a combination a cross-field rule refuses loses its least confident fields
  until it passes. Gold questions get suggestions like every item, so that under showSuggestions
  a gold task still looks like any other. The explanation names the rules that matched, never
  the text they matched.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.automation import registry
from app.automation.models import ModelKind, Suggestion
from app.automation.service import MAX_EXPLANATION, check_value, suggestion_schema
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.ids import new_id
from app.ingestion.anonymize.custom import TermDetector, check_pattern, check_terms, compile_pattern
from app.operations import Operation, Permission
from app.projects.models import Project
from app.projects.reads import find_project
from app.projects.service import SchemaInForce, active_schema
from app.taxonomy.schema_language import LabelSchema

SET_HEURISTIC_RULES = Operation(
    "setHeuristicRules", Permission("suggestion", "configure"), audit="suggestion.heuristics"
)

MODEL_NAME = "heuristics"
MAX_RULES = 50
MAX_KEYWORDS = 1_000  # over all of a project's rules
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_KEY = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
ITEM_FIELD = re.compile(rf"{_KEY}(\.{_KEY}){{0,7}}")


@dataclass(frozen=True)
class HeuristicRule:
    """Exactly one of pattern and keywords."""

    name: str
    item_field: str
    field: str
    class_: str
    confidence: float
    pattern: str | None = None
    keywords: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        source = {"pattern": self.pattern} if self.pattern is not None else {"keywords": list(self.keywords or ())}
        return {
            "name": self.name,
            "itemField": self.item_field,
            **source,
            "field": self.field,
            "class": self.class_,
            "confidence": self.confidence,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HeuristicRule:
        keywords = raw.get("keywords")
        return cls(
            name=raw["name"],
            item_field=raw["itemField"],
            field=raw["field"],
            class_=raw["class"],
            confidence=float(raw["confidence"]),
            pattern=raw.get("pattern"),
            keywords=tuple(keywords) if keywords is not None else None,
        )


def check(rules: Sequence[HeuristicRule], schema: LabelSchema) -> list[Problem]:
    """Everything wrong with a project's rules under its schema, each at `rules.N.<field>`."""
    problems: list[Problem] = []
    if len(rules) > MAX_RULES:
        problems.append(Problem("TOO_MANY_RULES", f"At most {MAX_RULES} heuristic rules.", "rules"))
    seen: set[str] = set()
    keywords = 0
    for i, rule in enumerate(rules):
        at = f"rules.{i}"
        if not NAME.fullmatch(rule.name):
            problems.append(
                Problem("INVALID_NAME", "A rule's name is 1 to 64 of A-Z a-z 0-9 _ -, from a letter.", f"{at}.name")
            )
        elif rule.name in seen:
            problems.append(Problem("DUPLICATE_NAME", "Rule names must be unique.", f"{at}.name"))
        seen.add(rule.name)
        if not ITEM_FIELD.fullmatch(rule.item_field):
            problems.append(
                Problem(
                    "INVALID_ITEM_FIELD",
                    "itemField is a key of the item's data, dotted for nested objects (text, meta.title).",
                    f"{at}.itemField",
                )
            )
        if (rule.pattern is None) == (rule.keywords is None):
            problems.append(Problem("INVALID_RULE", "A rule has either a pattern or keywords.", at))
        elif rule.pattern is not None:
            problems += check_pattern(rule.pattern, f"{at}.pattern")
        else:
            terms = rule.keywords or ()
            keywords += len(terms)
            problems += check_terms(terms, f"{at}.keywords", "INVALID_KEYWORD", "keyword")
        spec = schema.field(rule.field)
        if spec is None:
            problems.append(Problem("UNKNOWN_FIELD", "This is not a field of the label schema.", f"{at}.field"))
        elif spec.kind != "single_choice":
            problems.append(
                Problem("NOT_SINGLE_CHOICE", "A rule suggests a class of a single-choice field.", f"{at}.field")
            )
        elif rule.class_ not in spec.classes:
            problems.append(Problem("UNKNOWN_CLASS", f"'{rule.field}' has no such class.", f"{at}.class"))
        if not (math.isfinite(rule.confidence) and 0 <= rule.confidence <= 1):
            problems.append(Problem("OUT_OF_RANGE", "confidence is a number within 0..1.", f"{at}.confidence"))
    if keywords > MAX_KEYWORDS:
        problems.append(Problem("TOO_MANY_KEYWORDS", f"At most {MAX_KEYWORDS:,} keywords in all.", "rules"))
    return problems


def rules_of(project: Project) -> list[HeuristicRule]:
    return [HeuristicRule.from_json(raw) for raw in project.heuristic_rules or []]


def read_rules(actor: Actor, project: Project) -> list[HeuristicRule]:
    """A readable project's rules: they define the `heuristics` model, read with the registry
    (model, read; FORBIDDEN on the field otherwise)."""
    actor.require("model", "read", project.id)
    return rules_of(project)


def _text_at(data: Any, path: str) -> str | None:
    for key in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data if isinstance(data, str) else None


@dataclass(frozen=True)
class Proposal:
    value: dict[str, str]
    confidence: float
    per_field: dict[str, float]
    explanation: str


class Suggester:
    """A project's rules compiled for one schema version: rules the schema cannot take are left out."""

    def __init__(self, rules: Sequence[HeuristicRule], schema: SchemaInForce) -> None:
        self.schema = suggestion_schema(schema)
        self.rules: list[tuple[HeuristicRule, Any]] = []
        for rule in rules:
            spec = schema.schema.field(rule.field)
            if spec is None or spec.kind != "single_choice" or rule.class_ not in spec.classes:
                continue
            if rule.pattern is not None:
                compiled = compile_pattern(rule.pattern)
                if compiled is not None:
                    self.rules.append((rule, compiled.search))
            elif rule.keywords:
                detector = TermDetector.of(rule.name, rule.keywords)
                self.rules.append((rule, lambda text, d=detector: next(d.find(text), None)))

    def propose(self, item: Mapping[str, Any]) -> Proposal | None:
        """The suggestion for an item (`{"data", "metadata"}`), or None when no rule matches."""
        best: dict[str, HeuristicRule] = {}
        for rule, matches in self.rules:
            held = best.get(rule.field)
            if held is not None and held.confidence >= rule.confidence:
                continue
            text = _text_at(item.get("data"), rule.item_field)
            if text is not None and matches(text) is not None:
                best[rule.field] = rule
        # Drop the least confident fields until the combination is a value the schema takes.
        chosen = sorted(best.values(), key=lambda r: -r.confidence)
        while chosen:
            value = {r.field: r.class_ for r in chosen}
            if not check_value(self.schema, value, "value", item):
                explanation = "; ".join(
                    f"heuristic rule '{r.name}' ({'pattern' if r.pattern is not None else 'keywords'} on "
                    f"'{r.item_field}')"
                    for r in chosen
                )
                return Proposal(
                    value=value,
                    confidence=min(r.confidence for r in chosen),
                    per_field={r.field: r.confidence for r in chosen},
                    explanation=explanation[:MAX_EXPLANATION],
                )
            chosen.pop()
        return None


_compiled: dict[tuple[uuid.UUID, int, uuid.UUID], Suggester] = {}


def suggester(project: Project, schema: SchemaInForce) -> Suggester:
    key = (project.id, project.heuristics_version, schema.id)
    found = _compiled.get(key)
    if found is None:
        found = Suggester(rules_of(project), schema)
        if len(_compiled) > 256:
            _compiled.clear()
        _compiled[key] = found
    return found


async def set_heuristic_rules(
    session: AsyncSession, actor: Actor, project_id: uuid.UUID, rules: Sequence[HeuristicRule]
) -> Project:
    """Replace the project's rules (checked against the schema in force): a new rules version,
    registered as a version of the `heuristics` model. The same rules again change nothing."""
    project = await find_project(session, actor, project_id, lock=True)
    SET_HEURISTIC_RULES.require(actor, project.id)
    schema = await active_schema(session, project)
    problems = check(rules, schema.schema)
    if problems:
        raise DomainError(problems)
    stored = [rule.to_json() for rule in rules]
    changed = stored != list(project.heuristic_rules or [])
    if changed:
        project.heuristics_version += 1
        project.heuristic_rules = stored
        if stored:
            await registry.register(
                session,
                actor,
                project.id,
                MODEL_NAME,
                str(project.heuristics_version),
                ModelKind.HEURISTIC,
                parameters={"rules": stored},
            )
    await audit.record(
        session,
        actor,
        SET_HEURISTIC_RULES.audit,
        "Project",
        project.id,
        project_id=project.id,
        details={
            "changed": changed,
            "version": project.heuristics_version,
            # Patterns as written; keyword lists by their size (they may name the very things a project hides).
            "rules": [{**rule, "keywords": len(rule["keywords"])} if "keywords" in rule else rule for rule in stored],
        },
    )
    await session.flush()
    return project


async def suggest_at_import(
    session: AsyncSession, actor: Actor, project: Project, items: Sequence[Mapping[str, Any]]
) -> int:
    """Suggestions of the project's rules for items just imported (`id`, `data`, `meta` as stored),
    written in the import's transaction; how many."""
    if not project.heuristic_rules:
        return 0
    schema = await active_schema(session, project)
    run = suggester(project, schema)
    if not run.rules:
        return 0
    # Registered when the rules were set (set_heuristic_rules).
    found = await registry.find_model(session, project.id, MODEL_NAME)
    version = await registry.find_version(session, found.id, str(project.heuristics_version)) if found else None
    assert version is not None, "every rules version is registered when it is set"
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for item in items:
        proposal = run.propose({"data": item["data"], "metadata": item.get("meta") or {}})
        if proposal is None:
            continue
        rows.append(
            {
                "id": new_id(),
                "project_id": project.id,
                "item_id": item["id"],
                "model_version_id": version.id,
                "value": proposal.value,
                "confidence": proposal.confidence,
                "per_field": proposal.per_field,
                "explanation": proposal.explanation,
                "schema_version_id": schema.id,
                "created_by": actor.id,
                "created_at": now,
            }
        )
    if rows:
        await session.execute(insert(Suggestion), rows)
    return len(rows)
