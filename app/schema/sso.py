"""Single sign-on through OpenID Connect (app/sso/): configuring identity providers.

The sign-in itself is two HTTP routes, not GraphQL (app/sso/http.py): GET
/auth/oidc/{name}/login and /auth/oidc/{name}/callback. A provider's client secret goes in and
never comes out: IdentityProvider has no field for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.policies.roles import Role as RoleValue
from app.schema.context import Info
from app.schema.errors import UserError, errors_of
from app.schema.identity import Role
from app.schema.mutation import input_id, run_mutation
from app.schema.node import global_id
from app.sso import error_codes, reads, service
from app.sso import models as sso_models

SsoErrorCode = strawberry.enum(error_codes.SsoErrorCode, description=error_codes.SsoErrorCode.__doc__)


@strawberry.type(description="A failure of configuring an identity provider.")
class SsoError(UserError):
    codes = error_codes.SsoErrorCode
    code: SsoErrorCode  # type: ignore[valid-type]


@strawberry.type(description="When a claim holds a value, the person holds a role in a project.")
class RoleMapping:
    claim: str = strawberry.field(description="The ID token claim, e.g. groups (dots reach into objects).")
    value: str = strawberry.field(description="The value it must hold (or, for a list, contain).")
    role: Role  # type: ignore[valid-type]
    project_id: strawberry.ID


@strawberry.type(description="An OpenID Connect identity provider people sign in through (admins).")
class IdentityProvider:
    id: strawberry.ID
    name: str = strawberry.field(description="Its path segment: /auth/oidc/{name}/login.")
    display_name: str
    issuer: str
    client_id: str
    scopes: list[str]
    allowed_email_domains: list[str] = strawberry.field(description="Empty: any verified e-mail address.")
    role_mappings: list[RoleMapping]
    enabled: bool
    updated_at: datetime
    login_path: str = strawberry.field(description="Where a browser starts signing in.")

    @classmethod
    def of(cls, row: sso_models.IdentityProvider) -> IdentityProvider:
        return cls(
            id=strawberry.ID(global_id("IdentityProvider", row.id)),
            name=row.name,
            display_name=row.display_name,
            issuer=row.issuer,
            client_id=row.client_id,
            scopes=list(row.scopes),
            allowed_email_domains=list(row.allowed_email_domains),
            role_mappings=[
                RoleMapping(
                    claim=m["claim"],
                    value=m["value"],
                    role=RoleValue(m["role"]),
                    project_id=strawberry.ID(global_id("Project", uuid.UUID(m["project"]))),
                )
                for m in row.role_mappings
            ],
            enabled=row.enabled,
            updated_at=row.updated_at,
            login_path=f"/auth/oidc/{row.name}/login",
        )


@strawberry.input
class RoleMappingInput:
    claim: str
    value: str
    role: Role  # type: ignore[valid-type]
    project_id: strawberry.ID


@strawberry.input
class ConfigureIdentityProviderInput:
    name: str = strawberry.field(description="Creates the provider, or updates the one of this name.")
    issuer: str = strawberry.field(description="Exactly the `iss` of its ID tokens; https.")
    client_id: str
    client_secret: str | None = strawberry.field(
        default=None, description="Required for a new provider; leave out to keep the stored one. Never shown again."
    )
    display_name: str = ""
    scopes: list[str] = strawberry.field(default_factory=lambda: list(service.DEFAULT_SCOPES))
    allowed_email_domains: list[str] = strawberry.field(default_factory=list)
    role_mappings: list[RoleMappingInput] = strawberry.field(default_factory=list)
    enabled: bool = True


@strawberry.type
class IdentityProviderPayload:
    provider: IdentityProvider | None
    created: bool
    errors: list[SsoError]


@strawberry.type
class SsoQuery:
    @strawberry.field(description="The identity providers people sign in through. FORBIDDEN except for admins.")
    async def identity_providers(self, info: Info) -> list[IdentityProvider] | None:
        async with info.context.db() as session:
            rows = await reads.list_providers(session, info.context.actor)
        return [IdentityProvider.of(row) for row in rows]


@strawberry.type
class SsoMutation:
    @strawberry.mutation(
        description="Create or update an OpenID Connect identity provider (admins): issuer, client, allowed "
        "e-mail domains and which claims give which role in which project. Role changes apply at each "
        "person's next sign-in."
    )
    async def configure_identity_provider(
        self, info: Info, input: ConfigureIdentityProviderInput
    ) -> IdentityProviderPayload | None:
        runtime = info.context.runtime
        actor = info.context.actor
        try:
            mappings = tuple(
                service.Mapping(
                    claim=m.claim,
                    value=m.value,
                    role=RoleValue(m.role),
                    project_id=input_id(m.project_id, "Project", f"roleMappings.{i}.projectId"),
                )
                for i, m in enumerate(input.role_mappings)
            )
        except DomainError as exc:
            return IdentityProviderPayload(provider=None, created=False, errors=errors_of(SsoError, exc.problems))
        given = service.ProviderInput(
            name=input.name,
            issuer=input.issuer,
            client_id=input.client_id,
            client_secret=input.client_secret,
            display_name=input.display_name,
            scopes=tuple(input.scopes),
            allowed_email_domains=tuple(input.allowed_email_domains),
            role_mappings=mappings,
            enabled=input.enabled,
        )
        # Resolving the issuer's host is network work: before the write transaction (the service
        # requires the permission before it resolves anything).
        issuer_problems = await service.issuer_problems(
            actor, runtime.oidc.policy, input.issuer, allow_http=runtime.settings.oidc_allow_http
        )

        async def act(session: AsyncSession) -> tuple[sso_models.IdentityProvider, bool]:
            return await service.configure_provider(session, actor, runtime.settings.secret_key, given, issuer_problems)

        result = await run_mutation(info, service.CONFIGURE_PROVIDER, input, act, SsoError)
        if isinstance(result, list):
            return IdentityProviderPayload(provider=None, created=False, errors=result)
        provider, created = result
        runtime.oidc.forget(provider.issuer)
        return IdentityProviderPayload(provider=IdentityProvider.of(provider), created=created, errors=[])
