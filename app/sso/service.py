"""Single sign-on through OpenID Connect: configuring providers (configureIdentityProvider) and the
steps of a sign-in that touch the database (app/sso/http.py runs them around the provider's calls).

- `configure_provider` creates or updates a provider by name (admins, `identity_provider manage`,
  audited `identity_provider.configure` without the secret, which is sealed and never read back).
  A changed issuer deletes the provider's subject links in the same unit (audited as a count).
- `start` keeps a sign-in's state (SHA-256), nonce and PKCE verifier for LOGIN_LIFETIME_S.
- `consume` uses the state up: once, before the code is exchanged, committed whatever follows;
  only the browser holding the cookie /login set (its SHA-256 is on the row) gets the sign-in.
- `sign_in` links the provider's subject to a person (an existing link; else the person with that
  verified e-mail when the provider has allowed e-mail domains and the address is in one of them
  and the person holds no org-wide grant, `account_conflict` otherwise; else a new person,
  provisioned just in time), refuses inactive
  accounts, brings the person's SSO grants in line with the mappings, and audits it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth import identities
from app.auth.actor import Actor
from app.auth.fields import USERNAME, check_display_name
from app.auth.models import IdentityKind, User
from app.clock import utcnow
from app.compliance import audit
from app.errors import DomainError, Problem
from app.events.addresses import AddressPolicy, parse_url
from app.operations import Operation, Permission
from app.policies.enforcer import Authorizer
from app.policies.models import CasbinRule
from app.policies.roles import Role, user_subject
from app.policies.service import add_grant, drop_grant
from app.projects.reads import find_project
from app.sso import sealing
from app.sso.error_codes import SignInRefusal
from app.sso.mapping import email_allowed, mapped_grants
from app.sso.models import ExternalIdentity, IdentityProvider, OidcLogin

CONFIGURE_PROVIDER = Operation(
    "configureIdentityProvider",
    Permission("identity_provider", "manage"),
    audit="identity_provider.configure",
    secret_fields=("clientSecret",),
)
SIGN_IN = "sso.sign_in"
PROVISION = "sso.provision"
REFUSE = "sso.sign_in.refuse"

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_SCOPES = 20
MAX_DOMAINS = 50
MAX_MAPPINGS = 200
MAX_TEXT = 255
MAX_SECRET = 1024
DEFAULT_SCOPES = ("openid", "email", "profile")


@dataclass(frozen=True)
class Mapping:
    claim: str
    value: str
    role: Role
    project_id: uuid.UUID


@dataclass(frozen=True)
class ProviderInput:
    name: str
    issuer: str
    client_id: str
    client_secret: str | None
    display_name: str = ""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    allowed_email_domains: tuple[str, ...] = ()
    role_mappings: tuple[Mapping, ...] = ()
    enabled: bool = True


def _bounded(value: str, field: str) -> list[Problem]:
    if not value or len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        return [Problem("INVALID_TEXT", f"{field} is 1-{MAX_TEXT} printable characters.", field)]
    return []


async def issuer_problems(actor: Actor, policy: AddressPolicy, issuer: str, *, allow_http: bool) -> list[Problem]:
    """check_issuer for configureIdentityProvider, FORBIDDEN first for whoever may not configure
    providers: nobody else makes the server resolve a name."""
    CONFIGURE_PROVIDER.require(actor)
    return await check_issuer(policy, issuer, allow_http=allow_http)


async def check_issuer(policy: AddressPolicy, issuer: str, *, allow_http: bool) -> list[Problem]:
    """The issuer's form and where its host resolves now (the SSRF policy webhooks use)."""
    parts, problems = parse_url(issuer, "issuer")
    if parts is None:
        return problems
    if parts.scheme.lower() != "https" and not allow_http:
        return [Problem("UNSUPPORTED_SCHEME", "The issuer must be an https URL.", "issuer")]
    if parts.query:
        return [Problem("INVALID_URL", "The issuer URL has no query.", "issuer")]
    return await policy.check(issuer, "issuer")


async def configure_provider(
    session: AsyncSession, actor: Actor, secret_key: str, given: ProviderInput, issuer_problems: list[Problem]
) -> tuple[IdentityProvider, bool]:
    """The provider, created (True) or updated (False). `issuer_problems` come from issuer_problems,
    run before the write transaction (it resolves a host name)."""
    CONFIGURE_PROVIDER.require(actor)
    problems = list(issuer_problems)
    if not NAME.match(given.name):
        problems.append(
            Problem("INVALID_NAME", "Names are 2-64 of a-z 0-9 - _ (starting with a letter or digit).", "name")
        )
    problems += _bounded(given.client_id, "clientId") + check_display_name(given.display_name)
    if given.client_secret is not None and not 0 < len(given.client_secret) <= MAX_SECRET:
        problems.append(Problem("INVALID_TEXT", f"clientSecret is 1-{MAX_SECRET} characters.", "clientSecret"))
    if len(given.scopes) > MAX_SCOPES or len(given.allowed_email_domains) > MAX_DOMAINS:
        problems.append(Problem("TOO_MANY", f"At most {MAX_SCOPES} scopes and {MAX_DOMAINS} domains.", "scopes"))
    for i, scope in enumerate(given.scopes):
        if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}", scope):
            problems.append(Problem("INVALID_TEXT", "A scope is 1-64 printable characters, no spaces.", f"scopes.{i}"))
    domains = [d.strip().lower() for d in given.allowed_email_domains]
    for i, domain in enumerate(domains):
        if not DOMAIN.match(domain):
            problems.append(
                Problem("INVALID_DOMAIN", "Give a domain name such as example.com.", f"allowedEmailDomains.{i}")
            )
    problems += await _check_mappings(session, actor, given.role_mappings)
    existing = await session.scalar(select(IdentityProvider).where(col(IdentityProvider.name) == given.name))
    if existing is None and given.client_secret is None:
        problems.append(Problem("SECRET_REQUIRED", "A new provider needs its client secret.", "clientSecret"))
    if problems:
        raise DomainError(problems)
    scopes = list(dict.fromkeys(("openid", *given.scopes)))
    mappings = [
        {"claim": m.claim, "value": m.value, "role": m.role.value, "project": str(m.project_id)}
        for m in given.role_mappings
    ]
    created = existing is None
    issuer_changed = existing is not None and existing.issuer != given.issuer
    provider = existing or IdentityProvider(
        name=given.name, issuer=given.issuer, client_id=given.client_id, client_secret_sealed=""
    )
    provider.display_name = given.display_name
    provider.issuer = given.issuer
    provider.client_id = given.client_id
    provider.scopes = scopes
    provider.allowed_email_domains = list(dict.fromkeys(domains))
    provider.role_mappings = mappings
    provider.enabled = given.enabled
    provider.updated_at = utcnow()
    provider.updated_by = actor.id
    if given.client_secret is not None:
        provider.client_secret_sealed = sealing.seal(secret_key, provider.id, given.client_secret)
    session.add(provider)
    await session.flush()
    unlinked = 0
    if issuer_changed:
        # Subjects are only unique per issuer: the old issuer's links would let the new issuer's
        # `sub` of the same spelling sign in as someone else. People link again at their next sign-in.
        removed = await session.execute(
            ExternalIdentity.__table__.delete().where(col(ExternalIdentity.provider_id) == provider.id)  # type: ignore[attr-defined]
        )
        unlinked = int(removed.rowcount)  # type: ignore[attr-defined]
    await audit.record(
        session,
        actor,
        CONFIGURE_PROVIDER.audit,
        "IdentityProvider",
        provider.id,
        details={
            "name": provider.name,
            "created": created,
            "issuer": provider.issuer,
            "clientId": provider.client_id,
            "secretChanged": given.client_secret is not None,
            "scopes": scopes,
            "allowedEmailDomains": provider.allowed_email_domains,
            "roleMappings": mappings,
            "enabled": provider.enabled,
            "issuerChanged": issuer_changed,
            "unlinkedIdentities": unlinked,
        },
    )
    return provider, created


async def _check_mappings(session: AsyncSession, actor: Actor, mappings: tuple[Mapping, ...]) -> list[Problem]:
    problems: list[Problem] = []
    if len(mappings) > MAX_MAPPINGS:
        return [Problem("TOO_MANY", f"At most {MAX_MAPPINGS} role mappings.", "roleMappings")]
    seen = set()
    for i, m in enumerate(mappings):
        field = f"roleMappings.{i}"
        if _bounded(m.claim, "claim") or _bounded(m.value, "value"):
            problems.append(Problem("INVALID_MAPPING", "claim and value are 1-255 printable characters.", field))
        if (m.claim, m.value, m.role, m.project_id) in seen:
            problems.append(Problem("INVALID_MAPPING", "This mapping is listed twice.", field))
        seen.add((m.claim, m.value, m.role, m.project_id))
        if m.role.org_wide:
            problems.append(
                Problem("WRONG_SCOPE", f"{m.role.value} is org-wide: map project roles only.", f"{field}.role")
            )
        elif m.role.for_service_accounts:
            problems.append(Problem("WRONG_IDENTITY_KIND", f"{m.role.value} is for service accounts.", f"{field}.role"))
        try:
            await find_project(session, actor, m.project_id, f"{field}.projectId")
        except DomainError as missing:
            problems += missing.problems
    return problems


# --- the sign-in ------------------------------------------------------------------------------


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    state: str
    nonce: str
    code_verifier: str
    browser: str  # the cookie's value: binds the sign-in to the browser that started it


async def start(session: AsyncSession, provider: IdentityProvider, redirect_uri: str, lifetime_s: int) -> Started:
    """A new sign-in's secrets, kept server-side; expired ones are swept as new ones come."""
    now = utcnow()
    started = Started(
        secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48), secrets.token_urlsafe(32)
    )
    await session.execute(
        OidcLogin.__table__.delete().where(col(OidcLogin.expires_at) < now - timedelta(seconds=lifetime_s))  # type: ignore[attr-defined]
    )
    session.add(
        OidcLogin(
            state_hash=state_digest(started.state),
            provider_id=provider.id,
            nonce=started.nonce,
            code_verifier=started.code_verifier,
            redirect_uri=redirect_uri,
            browser_hash=state_digest(started.browser),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime_s),
        )
    )
    await session.flush()
    return started


async def consume(
    session: AsyncSession, provider: IdentityProvider, state: str, browser: str | None
) -> OidcLogin | None:
    """The sign-in the state belongs to, used up now; None when it is unknown, of another
    provider, used or expired, or when `browser` (the cookie /login set) is missing or not the one
    of this sign-in: the state is used up then too. Single use holds across processes: the update
    is conditional."""
    now = utcnow()
    digest = state_digest(state)
    used = await session.execute(
        update(OidcLogin)
        .where(
            col(OidcLogin.state_hash) == digest,
            col(OidcLogin.provider_id) == provider.id,
            col(OidcLogin.used_at).is_(None),
            col(OidcLogin.expires_at) > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    login = await session.get(OidcLogin, digest)
    if login is None or browser is None or not hmac.compare_digest(login.browser_hash, state_digest(browser)):
        return None
    return login


class Refused(Exception):
    """A sign-in refused for a reason the caller is told (one code, one message)."""

    def __init__(self, code: SignInRefusal, message: str, user_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.user_id = user_id


async def record_refusal(
    session: AsyncSession, provider: IdentityProvider, code: SignInRefusal, user_id: uuid.UUID | None = None
) -> None:
    await audit.record(
        session,
        None,
        REFUSE,
        "IdentityProvider",
        provider.id,
        request={"provider": provider.name},
        details={"provider": provider.name, "code": code.value, "userId": str(user_id) if user_id else None},
    )


@dataclass(frozen=True)
class SignedIn:
    user: User
    provisioned: bool
    granted: list[tuple[Role, uuid.UUID]]
    revoked: list[tuple[Role, uuid.UUID]]


async def sign_in(
    session: AsyncSession, authorizer: Authorizer, provider: IdentityProvider, claims: dict[str, Any]
) -> SignedIn:
    """The person the validated claims are, linked or provisioned, with its SSO grants in line
    with the mappings; Refused otherwise (nothing of the link or grants written then)."""
    now = utcnow()
    subject = str(claims["sub"])
    email = email_allowed(claims, provider.allowed_email_domains)
    link = await session.scalar(
        select(ExternalIdentity).where(
            col(ExternalIdentity.provider_id) == provider.id, col(ExternalIdentity.subject) == subject
        )
    )
    provisioned = False
    if link is not None:
        user = await session.get(User, link.user_id)
        assert user is not None
        if email is None and provider.allowed_email_domains:
            raise Refused(SignInRefusal.EMAIL_NOT_ALLOWED, "Your e-mail address may not sign in here.", user.id)
    else:
        if email is None:
            raise Refused(
                SignInRefusal.EMAIL_NOT_ALLOWED, "Your provider gave no verified e-mail address this server accepts."
            )
        user = await session.scalar(select(User).where(col(User.email) == email))
        if user is not None:
            taken = await session.scalar(
                select(ExternalIdentity.id).where(
                    col(ExternalIdentity.provider_id) == provider.id, col(ExternalIdentity.user_id) == user.id
                )
            )
            # A provider's admin can mint any verified address: an e-mail links to an existing
            # account only within the domains the provider is trusted for, and never to an account
            # holding an org-wide grant (an admin links those by hand).
            if (
                taken is not None
                or user.kind is not IdentityKind.HUMAN
                or not provider.allowed_email_domains
                or await _holds_org_grant(session, user.id)
            ):
                raise Refused(
                    SignInRefusal.ACCOUNT_CONFLICT, "This e-mail address belongs to another account.", user.id
                )
        else:
            user = User(
                username=await _free_username(session, claims, email),
                display_name=_display_name(claims),
                email=email,
                kind=IdentityKind.HUMAN,
                secret_hash="",  # no password: signs in through the provider (an admin may issue a reset link)
            )
            session.add(user)
            await session.flush()
            provisioned = True
        link = ExternalIdentity(provider_id=provider.id, subject=subject, user_id=user.id, created_at=now)
        session.add(link)
    if not user.is_active or user.erased_at is not None:
        raise Refused(SignInRefusal.ACCOUNT_INACTIVE, "This account is not active.", user.id)
    if provisioned:
        await audit.record(
            session,
            None,
            PROVISION,
            "User",
            user.id,
            request={"provider": provider.name},
            details={"provider": provider.name, "username": user.username},
        )
    granted, revoked, held = await _sync_grants(session, authorizer, user, provider, claims, link)
    link.mapped_grants = held
    link.last_sign_in_at = now
    await session.flush()
    await audit.record(
        session,
        Actor(user.id, user.username, user.kind, authorizer),
        SIGN_IN,
        "User",
        user.id,
        request={"provider": provider.name},
        details={
            "provider": provider.name,
            "provisioned": provisioned,
            "granted": [{"role": r.value, "project": str(p)} for r, p in granted],
            "revoked": [{"role": r.value, "project": str(p)} for r, p in revoked],
        },
    )
    if revoked:
        await identities.changed(session, user.id)
    return SignedIn(user, provisioned, granted, revoked)


async def _holds_org_grant(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the person holds an org-wide role (admin, compliance_officer, ingestion_service),
    read from the database, not this process's copy of the grants."""
    held = await session.scalar(
        select(CasbinRule.id).where(
            col(CasbinRule.ptype) == "g",
            col(CasbinRule.v0) == user_subject(user_id),
            col(CasbinRule.v1).in_([r.subject for r in Role if r.org_wide]),
        )
    )
    return held is not None


async def _sync_grants(
    session: AsyncSession,
    authorizer: Authorizer,
    user: User,
    provider: IdentityProvider,
    claims: dict[str, Any],
    link: ExternalIdentity,
) -> tuple[list[tuple[Role, uuid.UUID]], list[tuple[Role, uuid.UUID]], list[dict[str, Any]]]:
    """Grants the mappings earn are added; those an earlier sign-in added and the mappings no
    longer earn are taken away. Grants given by hand are never touched: a mapped grant the person
    held already is not recorded as the provider's."""
    desired = mapped_grants(claims, provider.role_mappings)
    before = {(Role(g["role"]), uuid.UUID(g["project"])) for g in link.mapped_grants or []}
    granted, revoked, held = [], [], []
    for role, project in sorted(desired, key=str):
        added = await add_grant(session, authorizer, user, role, project, granted_by=None)
        if added:
            granted.append((role, project))
        if added or (role, project) in before:
            held.append({"role": role.value, "project": str(project)})
    for role, project in sorted(before - desired, key=str):
        if await drop_grant(session, authorizer, user, role, project):
            revoked.append((role, project))
    return granted, revoked, held


async def _free_username(session: AsyncSession, claims: dict[str, Any], email: str) -> str:
    wanted = claims.get("preferred_username")
    base = wanted if isinstance(wanted, str) and wanted else email.partition("@")[0]
    base = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("._-")[:56] or "user"
    if len(base) < 2:
        base = f"{base}-sso"
    candidate, n = base, 1
    while not USERNAME.match(candidate) or await session.scalar(select(User.id).where(col(User.username) == candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _display_name(claims: dict[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and not check_display_name(name):
        return name
    return ""
