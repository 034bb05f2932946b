"""What of single sign-on one may read: providers are the admins' (identity_provider manage);
for everyone else there are none."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth.actor import Actor
from app.sso.models import IdentityProvider

MANAGE = ("identity_provider", "manage")


def readable_providers(actor: Actor) -> SelectOfScalar[IdentityProvider]:
    stmt = select(IdentityProvider)
    if not actor.can(*MANAGE):
        return stmt.where(col(IdentityProvider.id).is_(None))  # nothing
    return stmt


async def list_providers(session: AsyncSession, actor: Actor) -> list[IdentityProvider]:
    """identityProviders: FORBIDDEN except for admins (the list names the org's providers)."""
    actor.require(*MANAGE)
    return list(await session.scalars(readable_providers(actor).order_by(col(IdentityProvider.name))))


async def provider_named(session: AsyncSession, name: str) -> IdentityProvider | None:
    """For the sign-in routes (no caller yet): an enabled provider by its path name."""
    return await session.scalar(
        select(IdentityProvider).where(col(IdentityProvider.name) == name, col(IdentityProvider.enabled).is_(True))
    )


async def provider_by_id(session: AsyncSession, provider_id: uuid.UUID) -> IdentityProvider | None:
    return await session.get(IdentityProvider, provider_id)
