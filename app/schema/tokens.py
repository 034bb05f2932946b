"""Signing out: revokeToken ends the caller's own refresh-token sign-ins."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import error_codes as area_codes
from app.auth import refresh
from app.schema.context import Info
from app.schema.errors import UserError
from app.schema.mutation import run_mutation

TokenErrorCode = strawberry.enum(area_codes.TokenErrorCode, description=area_codes.TokenErrorCode.__doc__)


@strawberry.type(description="A failure of signing out.")
class TokenError(UserError):
    codes = area_codes.TokenErrorCode
    code: TokenErrorCode  # type: ignore[valid-type]


@strawberry.input
class RevokeTokenInput:
    refresh_token: str | None = strawberry.field(
        default=None, description="A refresh token of the caller's: its sign-in (every rotation of it) ends."
    )
    all: bool = strawberry.field(default=False, description="End every sign-in of the caller's, on every device.")


@strawberry.type
class RevokeTokenPayload:
    revoked_count: int = strawberry.field(description="How many sign-ins (refresh-token families) ended.")
    errors: list[TokenError]


@strawberry.type
class TokensMutation:
    @strawberry.mutation(
        description="Sign out: revoke the sign-in a refresh token belongs to, or with all: true every "
        "sign-in of the caller's. Only one's own tokens; anyone else's is NOT_FOUND. Access tokens "
        "already issued stay valid until they expire."
    )
    async def revoke_token(self, info: Info, input: RevokeTokenInput) -> RevokeTokenPayload | None:
        async def act(session: AsyncSession) -> int:
            return await refresh.revoke(
                session, info.context.actor, token=input.refresh_token, everything=input.all, via="graphql"
            )

        result = await run_mutation(info, refresh.REVOKE_TOKEN, input, act, TokenError)
        if isinstance(result, list):
            return RevokeTokenPayload(revoked_count=0, errors=result)
        return RevokeTokenPayload(revoked_count=result, errors=[])
