"""What a running server holds for its lifetime, built once at start-up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

import app.tables  # noqa: F401  (the ORM needs every table to resolve foreign keys)
from app.access.recorder import AccessRecorder
from app.auth.models import IdentityKind, User
from app.auth.passwords import Passwords
from app.auth.tokens import TokenService
from app.consent.lapse import Sweeper
from app.db import create_engine, session_factory
from app.policies.enforcer import Authorizer
from app.policies.service import grants_in_db
from app.policies.watcher import PolicyWatcher
from app.settings import Settings

# The bearer check's one statement per request: a primary-key probe of the active identity.
# Read on every request, never cached, so a deactivation (or a password reset's cut-off) holds
# from the very next request in every server process; bench/README.md has what it costs.
IDENTITY = select(col(User.id), col(User.username), col(User.kind), col(User.tokens_valid_after)).where(
    col(User.id) == bindparam("user_id"), col(User.is_active).is_(True)
)


@dataclass(frozen=True)
class Identity:
    """Who a token's subject is, as the bearer check needs it."""

    id: uuid.UUID
    username: str
    kind: IdentityKind
    tokens_valid_after: datetime | None


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authorizer: Authorizer
    tokens: TokenService
    passwords: Passwords
    access: AccessRecorder = field(init=False)
    consent_sweeper: Sweeper = field(init=False)
    watcher: PolicyWatcher | None = None

    def __post_init__(self) -> None:
        self.access = AccessRecorder(self.sessions, enabled=self.settings.access_history)
        self.consent_sweeper = Sweeper(self.sessions, self.settings.consent_sweep_s)

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        async with sessions() as session:
            authorizer = Authorizer(await grants_in_db(session))
        runtime = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            authorizer=authorizer,
            tokens=TokenService(settings.secret_key, settings.issuer, settings.audience, settings.token_lifetime_s),
            passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        )
        runtime.access.start()
        runtime.consent_sweeper.start()
        if engine.dialect.name == "postgresql":
            runtime.watcher = await PolicyWatcher.start(settings.database_url, runtime.reload_grants)
        return runtime

    async def reload_grants(self) -> None:
        """Replace the enforcer's grants with the database's (another process changed them)."""
        async with self.sessions() as session:
            self.authorizer.replace_grants(await grants_in_db(session))

    async def stop(self) -> None:
        from app.workflow import estimates

        await estimates.drain()
        await self.consent_sweeper.stop()
        await self.access.stop()
        if self.watcher is not None:
            await self.watcher.stop()
        await self.engine.dispose()

    async def identity(self, user_id: uuid.UUID) -> Identity | None:
        """The active identity behind a token subject, read afresh for every request."""
        async with self.engine.connect() as connection:
            row = (await connection.execute(IDENTITY, {"user_id": user_id})).first()
        return None if row is None else Identity(row[0], row[1], IdentityKind(row[2]), row[3])
