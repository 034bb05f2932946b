"""Per-request limits: depth, aliases, tokens, mutations per document; bounded caches; masking.

Extensions are passed as factories, so every request gets fresh instances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from app.schema.errors import should_mask
from app.settings import Settings

MAX_MUTATIONS = 5


class MutationCountRule(ValidationRule):
    """Caps top-level mutation fields per document: alias batching must not multiply writes."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is OperationType.MUTATION and len(node.selection_set.selections) > MAX_MUTATIONS:
            self.report_error(GraphQLError(f"At most {MAX_MUTATIONS} mutations per request.", node))


def extensions(settings: Settings) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    # The rule classes are built once: ValidationCache keys on them, and QueryDepthLimiter or
    # MaxAliasesLimiter made per request would mint new classes and miss the cache every time
    # (measured: ~5 ms of re-validation on each request).
    rules = [
        depth_rule(settings.max_query_depth, None, None),
        alias_rule(settings.max_aliases),
        MutationCountRule,
    ]
    chosen: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if settings.production:
        chosen.append(DisableIntrospection)
    if not settings.debug:
        chosen.append(lambda: MaskErrors(should_mask_error=should_mask))
    return chosen
