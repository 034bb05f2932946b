"""Per-request limits: depth, aliases, tokens, mutations per document, storable text; bounded caches; masking.

Extensions are passed as factories, so every request gets fresh instances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
)
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

from app.json_bounds import text_problem
from app.schema.errors import should_mask
from app.settings import Settings

MAX_MUTATIONS = 5


class MutationCountRule(ValidationRule):
    """Caps top-level mutation fields per document: alias batching must not multiply writes.

    Counted as they run: after expanding inline and named fragments (nested, each named one
    once), one per response key, since fields sharing a key are merged and run once.
    """

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is OperationType.MUTATION and self._count(node.selection_set) > MAX_MUTATIONS:
            self.report_error(GraphQLError(f"At most {MAX_MUTATIONS} mutations per request.", node))

    def _count(self, selection_set: SelectionSetNode) -> int:
        keys: set[str] = set()
        expanded: set[str] = set()
        pending = [selection_set]
        while pending and len(keys) <= MAX_MUTATIONS:
            for selection in pending.pop().selections:
                if isinstance(selection, FieldNode):
                    keys.add((selection.alias or selection.name).value)
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in expanded:
                    expanded.add(selection.name.value)
                    fragment = self.context.get_fragment(selection.name.value)
                    if fragment is not None:
                        pending.append(fragment.selection_set)
        return len(keys)


class TextRule(ValidationRule):
    """String literals in the document hold no NUL or unpaired surrogate: no database stores
    both alike (see app.json_bounds); variables are checked as the body is decoded."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        reason = text_problem(node.value)
        if reason is not None:
            self.report_error(GraphQLError(reason, node, extensions={"code": "BAD_USER_INPUT"}))


@dataclass(frozen=True)
class SchemaOptions:
    """The part of the settings that shapes the schema, and so the key of its per-process cache."""

    production: bool
    debug: bool
    max_query_depth: int
    max_aliases: int
    max_tokens: int

    @classmethod
    def of(cls, settings: Settings) -> SchemaOptions:
        return cls(
            production=settings.production,
            debug=settings.debug,
            max_query_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
        )


def extensions(settings: SchemaOptions) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    # The rule classes are built once: ValidationCache keys on them, and QueryDepthLimiter or
    # MaxAliasesLimiter made per request would mint new classes and miss the cache every time
    # (measured: ~5 ms of re-validation on each request).
    rules = [
        depth_rule(settings.max_query_depth, None, None),
        alias_rule(settings.max_aliases),
        MutationCountRule,
        TextRule,
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
