"""GraphQL documents and helpers for the people and service-account tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api

ERRORS = "errors { code field message }"
USER = "user { id username status displayName kind }"

CREATE_USER = f"""
mutation Create($input: CreateUserInput!) {{ createUser(input: $input) {{ {USER} {ERRORS} }} }}
"""
INVITE = f"""
mutation Invite($input: InviteUserInput!) {{
  inviteUser(input: $input) {{ {USER} invitationToken expiresAt {ERRORS} }}
}}
"""
ACCEPT = f"""
mutation Accept($input: AcceptInviteInput!) {{
  acceptInvite(input: $input) {{ username granted {{ role projectId }} {ERRORS} }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateUserInput!) {{ updateUser(input: $input) {{ {USER} {ERRORS} }} }}
"""
DEACTIVATE = f"""
mutation Deactivate($input: AccountReasonInput!) {{
  deactivateUser(input: $input) {{
    {USER} signInsEnded tasksReturned escalationsReturned auditsReturned {ERRORS}
  }}
}}
"""
REACTIVATE = f"""
mutation Reactivate($input: AccountReasonInput!) {{ reactivateUser(input: $input) {{ {USER} {ERRORS} }} }}
"""
CHANGE_PASSWORD = f"""
mutation Change($input: ChangePasswordInput!) {{ changePassword(input: $input) {{ signInsEnded {ERRORS} }} }}
"""
ISSUE_RESET = f"""
mutation IssueReset($input: IssuePasswordResetInput!) {{
  issuePasswordReset(input: $input) {{ {USER} resetToken expiresAt {ERRORS} }}
}}
"""
RESET = f"""
mutation Reset($input: ResetPasswordInput!) {{ resetPassword(input: $input) {{ username {ERRORS} }} }}
"""
CREATE_SERVICE_ACCOUNT = f"""
mutation CreateSA($input: CreateServiceAccountInput!) {{
  createServiceAccount(input: $input) {{
    serviceAccount {{ id username kind status }} clientId clientSecret previousSecretValidUntil {ERRORS}
  }}
}}
"""
ROTATE = f"""
mutation Rotate($input: RotateClientSecretInput!) {{
  rotateClientSecret(input: $input) {{
    serviceAccount {{ id username }} clientId clientSecret previousSecretValidUntil {ERRORS}
  }}
}}
"""
REVOKE_SERVICE_ACCOUNT = f"""
mutation RevokeSA($input: RevokeServiceAccountInput!) {{
  revokeServiceAccount(input: $input) {{ serviceAccount {{ id status }} {ERRORS} }}
}}
"""
MEMBERS = """
query Members($id: ID!) { project(id: $id) { members { user { username status } roles } } }
"""
VIEWER = "{ viewer { username } }"


async def anonymous(api: Api, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    """A GraphQL request with no Authorization header at all."""
    return await api.client.post("/graphql", json={"query": query, "variables": variables or {}})


async def anonymous_data(api: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await anonymous(api, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def password_sign_in(api: Api, username: str, password: str) -> httpx.Response:
    return await api.client.post(
        "/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )


async def signed_in(api: Api, username: str, password: str) -> dict[str, Any]:
    """The token response of a sign-in that must succeed."""
    response = await password_sign_in(api, username, password)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def with_token(
    api: Api, token: str, query: str = VIEWER, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
    )


async def refresh(api: Api, refresh_token: str) -> httpx.Response:
    return await api.client.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]
