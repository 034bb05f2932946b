"""Decoding a GraphQL request body: JSON within bounds, or a 400 with a GraphQL-shaped error.

Whatever a body holds is refused here, before the GraphQL layer sees it, when:

- it is not JSON, not UTF-8, or not an object (a batch, a bare string, null);
- it nests deeper than ``MAX_BODY_DEPTH`` (100) levels: room for the deepest label schema a
  client may send (a 32-level taxonomy is ~70 levels inside the body), far below the depth at
  which a recursive reader (the JSON decoder, the encoder, graphql-core) fails;
- any string in it, or any object key (the query text, variables, the operation name), holds
  a NUL character or an unpaired surrogate (see app.json_bounds): PostgreSQL cannot store them.

String literals inside the GraphQL document are checked by a validation rule
(app.schema.limits.TextRule) once the document is parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.json_bounds import text_problem

MAX_BODY_DEPTH = 100
# A \u0000 or \uD800-\uDFFF escape, or a raw NUL or surrogate.
_SUSPICIOUS = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\x00\ud800-\udfff]")


class BadRequestBody(Exception):
    """The body cannot be run; its message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"errors": [{"message": self.message, "extensions": {"code": "BAD_USER_INPUT"}}]}
        await JSONResponse(body, status_code=400)(scope, receive, send)


def decode_body(data: str | bytes) -> dict[str, Any]:
    """The body as a JSON object within the bounds above; BadRequestBody otherwise."""
    try:
        # UTF-8 only (a leading BOM is dropped): json.loads would also read UTF-16 and UTF-32,
        # where an unpaired surrogate arrives as a character, not as an escape.
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        body = json.loads(text)
    except UnicodeDecodeError as exc:
        raise BadRequestBody("The request body is not UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise BadRequestBody(f"The request body is not JSON: {exc.msg} at position {exc.pos}.") from exc
    except RecursionError as exc:  # nested past the decoder's own recursion limit
        raise BadRequestBody(f"The request body nests deeper than {MAX_BODY_DEPTH} levels.") from exc
    if not isinstance(body, dict):
        raise BadRequestBody("The request body must be a JSON object (batches are not supported).")
    problem = body_problem(text, body)
    if problem is not None:
        raise BadRequestBody(problem)
    return body


def body_problem(text: str, body: Any) -> str | None:
    """What breaks the bounds in a body decoded from ``text``, or None. Walks without recursion."""
    if _too_deep(text):
        return f"The request body nests deeper than {MAX_BODY_DEPTH} levels."
    # A decoded string holds a NUL or a surrogate only if the text held one or spelled one as
    # an escape: the walk runs only when one may be there.
    if _SUSPICIOUS.search(text) is None:
        return None
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            reason = text_problem(node)
            if reason is not None:
                return f"{reason} (in the request body)"
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


# In text already decoded as JSON: its strings, and whatever is not a bracket once they are gone.
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\{\}|\[\]")


def _too_deep(text: str) -> bool:
    """Whether objects and lists in `text` (valid JSON) nest more than MAX_BODY_DEPTH levels.

    Read off the text, not the decoded value: drop the strings, keep the brackets, then peel the
    innermost pairs one level per pass (a pass only removes pairs that were already empty, so the
    passes count the depth). Each step runs in the regex engine; walking the decoded value of a
    10,000-item import in Python cost ~130 ms.
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(MAX_BODY_DEPTH):
        if not brackets:
            return False
        brackets = _INNERMOST.sub("", brackets)
    return bool(brackets)
