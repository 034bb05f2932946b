"""Which GraphQL requests an anonymous caller may send: only documents whose every operation is a
mutation of nothing but the public fields (acceptInvite, resetPassword: the token in their input
is the credential). Everything else without a valid bearer token is the usual 401: deny by default.

Checked on the raw body before strawberry sees it (app/auth/middleware.RequireActor calls
`is_public`): no fragment definitions (a fragment could spread other root fields), every root
selection a field of the list or __typename. The payloads of the public fields hold scalars and
errors only, so no resolver beyond them runs. The anonymous caller's Actor holds no grant, so
any check that did run would refuse it too.
"""

from __future__ import annotations

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

from app.http_json import BadRequestBody, decode_body

PUBLIC_MUTATIONS = frozenset({"acceptInvite", "resetPassword"})
# A public request is a token and a password: anything larger is not one.
MAX_PUBLIC_BODY = 16 * 1024


def is_public(body: bytes) -> bool:
    if len(body) > MAX_PUBLIC_BODY:
        return False
    try:
        payload = decode_body(body)
    except BadRequestBody:
        return False
    query = payload.get("query")
    if not isinstance(query, str):
        return False
    try:
        document = parse(query, max_tokens=2_000)
    except GraphQLError:
        return False
    if not document.definitions:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.operation is not OperationType.MUTATION:
            return False
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                return False
            if selection.name.value not in PUBLIC_MUTATIONS and selection.name.value != "__typename":
                return False
    return True
