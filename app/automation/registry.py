"""The model registry: a project's models and their versions, registered on first use (audited).

A model's name is unique in its project and its kind is fixed when it is first registered: an
external push cannot write under the name of the project's heuristics or built-in model. Two
writers registering the same name or version at once both end up with the one row (an insert
that yields to the other's, then a read), never a unique-violation error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth.actor import Actor
from app.automation.models import Model, ModelKind, ModelVersion
from app.clock import utcnow
from app.compliance import audit
from app.db import is_postgres
from app.errors import Problem
from app.ids import new_id

REGISTER_AUDIT = "model.register"
# Names and versions are identifiers a client keeps in its own registry (MLflow, a git tag).
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MODEL_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


def check_reference(name: Any, version: Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        problems.append(
            Problem(
                "INVALID_MODEL_NAME",
                "modelName has 1 to 100 of A-Z a-z 0-9 . _ -, from a letter or digit.",
                "modelName",
            )
        )
    if not isinstance(version, str) or not MODEL_VERSION.fullmatch(version):
        problems.append(
            Problem(
                "INVALID_MODEL_VERSION",
                "modelVersion has 1 to 100 of A-Z a-z 0-9 . _ + -, from a letter or digit.",
                "modelVersion",
            )
        )
    return problems


async def find_model(session: AsyncSession, project_id: uuid.UUID, name: str) -> Model | None:
    return await session.scalar(select(Model).where(col(Model.project_id) == project_id, col(Model.name) == name))


async def find_version(session: AsyncSession, model_id: uuid.UUID, version: str) -> ModelVersion | None:
    return await session.scalar(
        select(ModelVersion).where(col(ModelVersion.model_id) == model_id, col(ModelVersion.version) == version)
    )


async def _insert_once(session: AsyncSession, table: Any, values: dict[str, Any], keys: Sequence[str]) -> bool:
    """Insert unless a row with the same keys exists (or another writer's commits first): whether it did."""
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    statement = dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Registered:
    model: Model
    version: ModelVersion
    new_version: bool


async def register(
    session: AsyncSession,
    actor: Actor,
    project_id: uuid.UUID,
    name: str,
    version: str,
    kind: ModelKind,
    *,
    metrics: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Registered:
    """The model version, registered (with its model, if new) and audited when it was not there yet.

    The caller has checked the name's kind (`find_model`): a model of another kind is refused
    before anything is written."""
    now = utcnow()
    model = await find_model(session, project_id, name)
    new_model = False
    if model is None:
        values = {"id": new_id(), "project_id": project_id, "name": name, "kind": kind}
        values |= {"registered_by": actor.id, "registered_at": now}
        new_model = await _insert_once(session, Model, values, ("project_id", "name"))
        model = await find_model(session, project_id, name)
        assert model is not None
    found = await find_version(session, model.id, version)
    if found is not None:
        return Registered(model, found, False)
    values = {
        "id": new_id(),
        "model_id": model.id,
        "project_id": project_id,
        "version": version,
        "registered_by": actor.id,
        "registered_at": now,
        "metrics": metrics,
        "parameters": parameters,
    }
    inserted = await _insert_once(session, ModelVersion, values, ("model_id", "version"))
    found = await find_version(session, model.id, version)
    assert found is not None
    if inserted:
        await audit.record(
            session,
            actor,
            REGISTER_AUDIT,
            "ModelVersion",
            found.id,
            project_id=project_id,
            details={"model": name, "version": version, "kind": str(model.kind), "newModel": new_model},
        )
    return Registered(model, found, inserted)
