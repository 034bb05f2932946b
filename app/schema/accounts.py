"""People and service accounts through the API (app/auth/people.py, credentials.py, machines.py).

acceptInvite and resetPassword are the only fields an anonymous caller reaches (app/schema/
public.py decides which documents pass the gate); their payloads carry no object types, so
nothing else can be resolved for a caller without a token.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import credentials, error_codes, machines, people, throttle
from app.auth import models as auth_models
from app.auth.password_policy import PasswordPolicy
from app.errors import DomainError
from app.policies.roles import Role as RoleValue
from app.schema.context import Info
from app.schema.errors import UserError, errors_of
from app.schema.identity import Role, RoleGrant, User
from app.schema.mutation import input_id, run_mutation
from app.schema.node import global_id

IdentityErrorCode = strawberry.enum(error_codes.IdentityErrorCode, description=error_codes.IdentityErrorCode.__doc__)


@strawberry.type(description="A failure of a mutation on people or service accounts.")
class IdentityError(UserError):
    codes = error_codes.IdentityErrorCode
    code: IdentityErrorCode  # type: ignore[valid-type]


def _policy(info: Info) -> PasswordPolicy:
    return PasswordPolicy.of(info.context.runtime.settings)


def _errors(exc: DomainError) -> list[IdentityError]:
    return errors_of(IdentityError, exc.problems)


def _role_grants(grants: list[people.Grant]) -> list[RoleGrant]:
    return [
        RoleGrant(
            role=grant.role,
            project_id=None if grant.project_id is None else strawberry.ID(global_id("Project", grant.project_id)),
        )
        for grant in grants
    ]


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[IdentityError]


# --- people -------------------------------------------------------------------------------


@strawberry.input
class CreateUserInput:
    username: str
    password: str = strawberry.field(description="Checked against the password policy (length, common, names).")
    display_name: str = ""
    email: str | None = None


@strawberry.input
class InviteGrantInput:
    role: Role  # type: ignore[valid-type]
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="The project; leave out for org-wide roles (admins only)."
    )


@strawberry.input
class InviteUserInput:
    username: str
    display_name: str = ""
    email: str | None = None
    grants: list[InviteGrantInput] = strawberry.field(
        default_factory=list,
        description="Roles applied when the invitation is accepted. A project manager invites into its own "
        "projects, with the roles it may grant there (annotator, reviewer, qa_auditor, expert).",
    )


@strawberry.type
class InviteUserPayload:
    user: User | None
    invitation_token: str | None = strawberry.field(
        description="The one-time token to send the invitee as a link (shown this once; only its hash is kept). "
        "acceptInvite redeems it."
    )
    expires_at: datetime | None
    errors: list[IdentityError]


@strawberry.input
class AcceptInviteInput:
    token: str
    password: str


@strawberry.type
class AcceptInvitePayload:
    username: str | None = strawberry.field(description="The account that can now sign in.")
    granted: list[RoleGrant] = strawberry.field(description="The roles the invitation carried that were applied.")
    errors: list[IdentityError]


@strawberry.input
class UpdateUserInput:
    user_id: strawberry.ID
    reason: str
    display_name: str | None = strawberry.field(default=None, description="Left out: unchanged.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Left out: unchanged; null: none.")


@strawberry.input
class AccountReasonInput:
    user_id: strawberry.ID
    reason: str = strawberry.field(description="Kept with the account's history (erased with the person).")


@strawberry.type
class DeactivateUserPayload:
    user: User | None
    sign_ins_ended: int = strawberry.field(description="Refresh-token sign-ins revoked.")
    tasks_returned: int = strawberry.field(description="Open tasks released back to their queues.")
    escalations_returned: int
    audits_returned: int
    errors: list[IdentityError]


# --- passwords ----------------------------------------------------------------------------


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str
    refresh_token: str | None = strawberry.field(
        default=None, description="Your current sign-in's refresh token: it stays; every other sign-in ends."
    )


@strawberry.type
class ChangePasswordPayload:
    sign_ins_ended: int
    errors: list[IdentityError]


@strawberry.input
class IssuePasswordResetInput:
    user_id: strawberry.ID


@strawberry.type
class IssuePasswordResetPayload:
    user: User | None
    reset_token: str | None = strawberry.field(
        description="The one-time token to send as a link (shown this once); resetPassword redeems it."
    )
    expires_at: datetime | None
    errors: list[IdentityError]


@strawberry.input
class ResetPasswordInput:
    token: str
    password: str


@strawberry.type
class ResetPasswordPayload:
    username: str | None
    errors: list[IdentityError]


# --- service accounts ---------------------------------------------------------------------


@strawberry.input
class CreateServiceAccountInput:
    username: str = strawberry.field(description="Its client_id at /auth/token.")
    display_name: str = ""


@strawberry.input
class RotateClientSecretInput:
    service_account_id: strawberry.ID
    grace_seconds: int = strawberry.field(
        description="How long the secret being replaced keeps working (0 to 604,800): time for pipelines to "
        "switch without downtime."
    )


@strawberry.input
class RevokeServiceAccountInput:
    service_account_id: strawberry.ID
    reason: str


@strawberry.type
class ClientSecretPayload:
    service_account: User | None
    client_id: str | None
    client_secret: str | None = strawberry.field(
        description="Shown this once: only its argon2 hash is kept. Send it as client_secret (or HTTP Basic) "
        "with grant_type=client_credentials."
    )
    previous_secret_valid_until: datetime | None = strawberry.field(
        description="When the secret this one replaced stops working (rotateClientSecret); null: it already has."
    )
    errors: list[IdentityError]


@strawberry.type
class ServiceAccountPayload:
    service_account: User | None
    errors: list[IdentityError]


def _secret_payload(result: auth_models.User | list[IdentityError], secret: str) -> ClientSecretPayload:
    if isinstance(result, list):
        return ClientSecretPayload(
            service_account=None, client_id=None, client_secret=None, previous_secret_valid_until=None, errors=result
        )
    return ClientSecretPayload(
        service_account=User.of(result),
        client_id=result.username,
        client_secret=secret,
        previous_secret_valid_until=result.previous_secret_expires_at,
        errors=[],
    )


def _user_payload(result: auth_models.User | list[IdentityError]) -> UserPayload:
    if isinstance(result, list):
        return UserPayload(user=None, errors=result)
    return UserPayload(user=User.of(result), errors=[])


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Create an active person with a password you choose. Admins.")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload | None:
        actor = info.context.actor
        new = people.NewUser(username=input.username, display_name=input.display_name, email=input.email)
        try:
            secret_hash = await people.prepare_user(
                actor, info.context.runtime.passwords, _policy(info), new, input.password
            )
        except DomainError as exc:
            return UserPayload(user=None, errors=_errors(exc))

        async def act(session: AsyncSession) -> auth_models.User:
            return await people.create_user(session, actor, new, secret_hash)

        return _user_payload(await run_mutation(info, people.CREATE_USER, input, act, IdentityError))

    @strawberry.mutation(
        description="Invite a person: an account that cannot sign in until the invitee sets its password with "
        "acceptInvite and the one-time token returned here (valid LABELGRAPH_INVITE_LIFETIME_S, 7 days). Admins "
        "invite anyone; a project manager invites into its own projects with the roles it may grant there. "
        "Inviting a pending invitee again (its inviter, or an admin) replaces the invitation."
    )
    async def invite_user(self, info: Info, input: InviteUserInput) -> InviteUserPayload | None:
        actor = info.context.actor

        async def act(session: AsyncSession) -> people.Invitation:
            grants = [
                people.Grant(
                    RoleValue(grant.role),
                    None
                    if grant.project_id is None
                    else input_id(grant.project_id, "Project", f"grants.{n}.projectId"),
                )
                for n, grant in enumerate(input.grants)
            ]
            new = people.NewUser(username=input.username, display_name=input.display_name, email=input.email)
            lifetime = info.context.runtime.settings.invite_lifetime_s
            return await people.invite_user(session, actor, new, grants, lifetime)

        result = await run_mutation(info, people.INVITE_USER, input, act, IdentityError)
        if isinstance(result, list):
            return InviteUserPayload(user=None, invitation_token=None, expires_at=None, errors=result)
        return InviteUserPayload(
            user=User.of(result.user), invitation_token=result.token, expires_at=result.expires_at, errors=[]
        )

    @strawberry.mutation(
        description="Accept an invitation: set your password (the policy applies) and the invitation's roles "
        "are granted. Needs no sign-in: the token is the credential, and it works once."
    )
    async def accept_invite(self, info: Info, input: AcceptInviteInput) -> AcceptInvitePayload | None:
        runtime = info.context.runtime
        try:
            async with info.context.db() as session:
                secret_hash = await people.prepare_acceptance(
                    session, runtime.passwords, _policy(info), input.token, input.password
                )
        except DomainError as exc:
            return AcceptInvitePayload(username=None, granted=[], errors=_errors(exc))

        async def act(session: AsyncSession) -> people.Accepted:
            return await people.accept_invite(session, runtime.authorizer, input.token, secret_hash)

        result = await run_mutation(info, people.ACCEPT_INVITE, input, act, IdentityError)
        if isinstance(result, list):
            return AcceptInvitePayload(username=None, granted=[], errors=result)
        return AcceptInvitePayload(username=result.user.username, granted=_role_grants(result.granted), errors=[])

    @strawberry.mutation(description="Change a person's display name or e-mail address, with a reason. Admins.")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload | None:
        async def act(session: AsyncSession) -> auth_models.User:
            return await people.update_user(
                session,
                info.context.actor,
                input_id(input.user_id, "User", "userId"),
                display_name=input.display_name,
                email=None if input.email is strawberry.UNSET else input.email,
                email_given=input.email is not strawberry.UNSET,
                reason=input.reason,
            )

        return _user_payload(await run_mutation(info, people.UPDATE_USER, input, act, IdentityError))

    @strawberry.mutation(
        description="Take a person off at once, with a reason (admins): it cannot sign in, every access and "
        "refresh token it holds stops working on its next request, its open tasks, escalations and QA audits "
        "go back to their queues. Its roles stay for a reactivation."
    )
    async def deactivate_user(self, info: Info, input: AccountReasonInput) -> DeactivateUserPayload | None:
        async def act(session: AsyncSession) -> people.Deactivated:
            return await people.deactivate_user(
                session, info.context.actor, input_id(input.user_id, "User", "userId"), input.reason
            )

        result = await run_mutation(info, people.DEACTIVATE_USER, input, act, IdentityError)
        if isinstance(result, list):
            return DeactivateUserPayload(
                user=None, sign_ins_ended=0, tasks_returned=0, escalations_returned=0, audits_returned=0, errors=result
            )
        return DeactivateUserPayload(
            user=User.of(result.user),
            sign_ins_ended=result.sign_ins_ended,
            tasks_returned=result.tasks_returned,
            escalations_returned=result.escalations_returned,
            audits_returned=result.audits_returned,
            errors=[],
        )

    @strawberry.mutation(
        description="Let a deactivated person sign in again, with a reason (admins). Tokens from before the "
        "deactivation stay dead."
    )
    async def reactivate_user(self, info: Info, input: AccountReasonInput) -> UserPayload | None:
        async def act(session: AsyncSession) -> auth_models.User:
            return await people.reactivate_user(
                session, info.context.actor, input_id(input.user_id, "User", "userId"), input.reason
            )

        return _user_payload(await run_mutation(info, people.REACTIVATE_USER, input, act, IdentityError))

    @strawberry.mutation(
        description="Change your own password, giving the current one. Every other sign-in ends (send your "
        "refreshToken to keep this one); access tokens already issued run out on their own."
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordPayload | None:
        actor, runtime = info.context.actor, info.context.runtime
        settings = runtime.settings
        limits = throttle.Limits.of(settings)
        keys = throttle.keys(
            actor.username, throttle.client_address(info.context.request.scope, settings.trusted_proxies)
        )
        try:
            await credentials.count_attempt(runtime.sessions, limits, keys)
            async with info.context.db() as session:
                prepared = await credentials.prepare_change(
                    session, actor, runtime.passwords, _policy(info), input.current_password, input.new_password
                )
        except DomainError as exc:
            if not any(p.code in {"WRONG_PASSWORD", "TOO_MANY_ATTEMPTS"} for p in exc.problems):
                await credentials.clear_attempts(runtime.sessions, limits, keys)
            return ChangePasswordPayload(sign_ins_ended=0, errors=_errors(exc))

        async def act(session: AsyncSession) -> int:
            await throttle.succeeded(session, limits, keys)
            return await credentials.change_password(session, actor, prepared, input.refresh_token)

        result = await run_mutation(info, credentials.CHANGE_PASSWORD, input, act, IdentityError)
        if isinstance(result, list):
            return ChangePasswordPayload(sign_ins_ended=0, errors=result)
        return ChangePasswordPayload(sign_ins_ended=result, errors=[])

    @strawberry.mutation(
        description="A one-time link token that sets a new password for an active person (admins; valid "
        "LABELGRAPH_PASSWORD_RESET_LIFETIME_S, a day). An earlier one stops working."
    )
    async def issue_password_reset(
        self, info: Info, input: IssuePasswordResetInput
    ) -> IssuePasswordResetPayload | None:
        async def act(session: AsyncSession) -> credentials.ResetLink:
            lifetime = info.context.runtime.settings.password_reset_lifetime_s
            user_id = input_id(input.user_id, "User", "userId")
            return await credentials.issue_password_reset(session, info.context.actor, user_id, lifetime)

        result = await run_mutation(info, credentials.ISSUE_PASSWORD_RESET, input, act, IdentityError)
        if isinstance(result, list):
            return IssuePasswordResetPayload(user=None, reset_token=None, expires_at=None, errors=result)
        return IssuePasswordResetPayload(
            user=User.of(result.user), reset_token=result.token, expires_at=result.expires_at, errors=[]
        )

    @strawberry.mutation(
        description="Set a new password with a reset link's token. Needs no sign-in; the token works once. "
        "Every sign-in of the account ends and every access token issued before is refused."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> ResetPasswordPayload | None:
        runtime = info.context.runtime
        try:
            async with info.context.db() as session:
                secret_hash = await credentials.prepare_reset(
                    session, runtime.passwords, _policy(info), input.token, input.password
                )
        except DomainError as exc:
            return ResetPasswordPayload(username=None, errors=_errors(exc))

        async def act(session: AsyncSession) -> auth_models.User:
            return await credentials.reset_password(session, runtime.authorizer, input.token, secret_hash)

        result = await run_mutation(info, credentials.RESET_PASSWORD, input, act, IdentityError)
        if isinstance(result, list):
            return ResetPasswordPayload(username=None, errors=result)
        return ResetPasswordPayload(username=result.username, errors=[])

    @strawberry.mutation(
        description="A service account and its client secret, shown once (admins). Grant it ml_service, "
        "ingestion_service or metrics with grantRole."
    )
    async def create_service_account(self, info: Info, input: CreateServiceAccountInput) -> ClientSecretPayload | None:
        actor = info.context.actor
        secret, secret_hash = await machines.new_client_secret(
            actor, info.context.runtime.passwords, machines.CREATE_SERVICE_ACCOUNT
        )

        async def act(session: AsyncSession) -> auth_models.User:
            return await machines.create_service_account(
                session, actor, input.username, input.display_name, secret_hash
            )

        return _secret_payload(
            await run_mutation(info, machines.CREATE_SERVICE_ACCOUNT, input, act, IdentityError), secret
        )

    @strawberry.mutation(
        description="A new client secret, shown once (admins); the one it replaces keeps working graceSeconds "
        "more, so pipelines switch without downtime."
    )
    async def rotate_client_secret(self, info: Info, input: RotateClientSecretInput) -> ClientSecretPayload | None:
        actor = info.context.actor
        try:
            account_id = input_id(input.service_account_id, "User", "serviceAccountId")
            async with info.context.db() as session:
                secret, secret_hash = await machines.prepare_rotation(
                    session, actor, info.context.runtime.passwords, account_id
                )
        except DomainError as exc:
            return _secret_payload(_errors(exc), "")

        async def act(session: AsyncSession) -> auth_models.User:
            return await machines.rotate_client_secret(session, actor, account_id, input.grace_seconds, secret_hash)

        return _secret_payload(
            await run_mutation(info, machines.ROTATE_CLIENT_SECRET, input, act, IdentityError), secret
        )

    @strawberry.mutation(
        description="End a service account for good, with a reason (admins): no secret works, and its access "
        "tokens are refused on their next request."
    )
    async def revoke_service_account(
        self, info: Info, input: RevokeServiceAccountInput
    ) -> ServiceAccountPayload | None:
        async def act(session: AsyncSession) -> auth_models.User:
            account_id = input_id(input.service_account_id, "User", "serviceAccountId")
            return await machines.revoke_service_account(session, info.context.actor, account_id, input.reason)

        result = await run_mutation(info, machines.REVOKE_SERVICE_ACCOUNT, input, act, IdentityError)
        if isinstance(result, list):
            return ServiceAccountPayload(service_account=None, errors=result)
        return ServiceAccountPayload(service_account=User.of(result), errors=[])
