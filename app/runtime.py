"""What a running server holds for its lifetime, built once at start-up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import app.tables  # noqa: F401  (the ORM needs every table to resolve foreign keys)
from app.access.recorder import AccessRecorder
from app.auth import identities
from app.auth.identities import Identity, IdentityCache
from app.auth.keys import KeyRing
from app.auth.passwords import Passwords
from app.auth.tokens import ES256, TokenService
from app.automation.training import Retrainer
from app.consent.lapse import Sweeper
from app.db import create_engine, session_factory
from app.events.addresses import AddressPolicy
from app.events.dispatcher import Dispatcher
from app.events.hub import SubscriptionHub
from app.metrics.registry import Metrics
from app.policies.enforcer import Authorizer
from app.policies.service import grants_in_db
from app.policies.watcher import PolicyWatcher
from app.settings import Settings
from app.sso.fetch import ProviderDirectory


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
    # The built-in model's retrain every `retrain_every` decisions (app/automation/training.py).
    retrainer: Retrainer = field(init=False)
    # Webhook deliveries (an asyncio task unless settings turn it off) and subscriptions' poller.
    dispatcher: Dispatcher = field(init=False)
    hub: SubscriptionHub = field(init=False)
    watcher: PolicyWatcher | None = None
    identities: IdentityCache = field(init=False)
    oidc: ProviderDirectory = field(init=False)  # identity providers' metadata and keys (app/sso/fetch.py)
    # This app's Prometheus metrics (app/metrics/): its own registry; every session reports to it.
    metrics: Metrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics()
        self.metrics.attach(self.sessions)
        self.access = AccessRecorder(self.sessions, enabled=self.settings.access_history)
        self.consent_sweeper = Sweeper(self.sessions, self.settings.consent_sweep_s)
        self.retrainer = Retrainer(self.sessions, self.authorizer, self.settings.retrain_poll_s)
        self.dispatcher = Dispatcher(self.sessions, self.settings)
        self.hub = SubscriptionHub(self.sessions, self.settings.events_poll_s)
        self.identities = IdentityCache(self.engine, self.sessions)
        self.oidc = ProviderDirectory(
            AddressPolicy(self.settings.oidc_allowed_networks),
            self.settings.oidc_timeout_s,
            allow_http=self.settings.oidc_allow_http,
        )

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        keys: KeyRing | None = None
        if settings.token_algorithm == ES256:
            keys = KeyRing(sessions, settings.secret_key, settings.token_lifetime_s)
            await keys.start()
        async with sessions() as session:
            authorizer = Authorizer(await grants_in_db(session))
        runtime = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            authorizer=authorizer,
            tokens=TokenService(
                settings.issuer,
                settings.audience,
                settings.token_lifetime_s,
                keys=keys,
                shared_secret=None if keys is not None else settings.secret_key,
            ),
            passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        )
        runtime.access.start()
        if settings.background:
            runtime.start_background()
        if engine.dialect.name == "postgresql":
            runtime.watcher = await PolicyWatcher.start(settings.database_url, runtime.reload_grants)
            await runtime.watcher.listen(identities.CHANNEL, runtime.identities.on_notice)
        return runtime

    def start_background(self) -> None:
        """The jobs no request waits for: consent sweeps, retrains, webhook deliveries. Every server
        process runs them unless settings.background is off; `labelgraph worker` (app/worker.py) is
        a runtime that runs only them, beside servers started without."""
        self.consent_sweeper.start(self.metrics)
        self.retrainer.start(self.metrics)
        if self.settings.events_dispatch:
            self.dispatcher.start()

    async def reload_grants(self) -> None:
        """Replace the enforcer's grants with the database's (another process changed them)."""
        async with self.sessions() as session:
            self.authorizer.replace_grants(await grants_in_db(session))

    async def stop(self) -> None:
        from app.workflow import estimates

        await estimates.drain()
        await self.consent_sweeper.stop()
        await self.retrainer.stop()
        if self.tokens.keys is not None:
            await self.tokens.keys.stop()
        await self.access.stop()
        await self.hub.stop()
        await self.dispatcher.stop()
        if self.watcher is not None:
            await self.watcher.stop()
        await self.engine.dispose()

    async def identity(self, user_id: uuid.UUID) -> Identity | None:
        """The active identity behind a token subject (app/auth/identities.py: cached, dropped
        as soon as the account changes)."""
        return await self.identities.get(user_id)
