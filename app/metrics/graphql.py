"""The operation label of a GraphQL request: bounded by the schema, never by what clients write.

A client's operation name is free text (one per screen, per build, per typo), so it is not the
label. The label is the root field the operation selects, when it selects one the schema defines;
`multiple` when it selects several, `introspection` for only __schema/__type/__typename, `other`
for a document that does not parse or names no field of the schema, `none` for a request that
never reached GraphQL (a 401, an oversized body). So the series are at most the schema's root
fields plus four, times the operation type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

# The scope key of the request's label: set empty by the timing around /graphql (http.py),
# filled in by OperationMetrics once the document is parsed.
SLOT = "labelgraph.metrics_operation"
NONE = "none"
OTHER = "other"
MULTIPLE = "multiple"
INTROSPECTION = "introspection"


@dataclass
class OperationLabel:
    operation: str = NONE
    type: str = NONE


def label_of(schema: GraphQLSchema, document: DocumentNode | None, operation_name: str | None) -> OperationLabel:
    """The bounded label of the operation `operation_name` picks out of `document`."""
    if document is None:
        return OperationLabel(OTHER, NONE)
    try:
        operation = get_operation_ast(document, operation_name)
    except Exception:  # a malformed document has no operation to name
        operation = None
    if operation is None:
        return OperationLabel(OTHER, NONE)
    kind = operation.operation.value
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names = set(_root_fields(operation.selection_set, fragments, set()))
    if names and all(name.startswith("__") for name in names):
        return OperationLabel(INTROSPECTION, kind)
    names.discard("__typename")
    if len(names) > 1:
        return OperationLabel(MULTIPLE, kind)
    root = schema.get_root_type(operation.operation)
    if len(names) == 1 and root is not None and (name := names.pop()) in root.fields:
        return OperationLabel(name, kind)
    return OperationLabel(OTHER, kind)


def _root_fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], expanded: set[str]
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, expanded)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in expanded:
            expanded.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments, expanded)


class OperationMetrics(SchemaExtension):
    """Names the request's operation in its label slot, once parsed (valid or not)."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        request = getattr(context.context, "request", None)
        slot = request.scope.get(SLOT) if request is not None else None
        if isinstance(slot, OperationLabel):
            found = label_of(context.schema._schema, context.graphql_document, context.operation_name)
            slot.operation, slot.type = found.operation, found.type
