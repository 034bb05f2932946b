"""Typed payload errors: every code a service can raise is a value of its area's enum in the SDL.

A generated client (graphql-codegen) switches on `code` exhaustively, so a service that raises a
code the enum lacks would hand it a value it cannot name. AREAS below is the reviewed answer to
"which raising code reaches which area's payloads": the modules (or single functions) whose
DomainError/Problem codes each area's mutations can answer. The scan reads the source, so a new
code fails here until its area's enum has it.
"""

from __future__ import annotations

import ast
import enum
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType
from graphql import build_schema as schema_from_sdl

import app.operations
from app.audits.error_codes import AuditErrorCode
from app.auth.error_codes import IdentityErrorCode, TokenErrorCode
from app.automation.error_codes import AutomationErrorCode
from app.consent.error_codes import ConsentErrorCode
from app.discussion.error_codes import DiscussionErrorCode
from app.erasure.error_codes import ErasureErrorCode
from app.events.error_codes import EventsErrorCode
from app.expertise.error_codes import ExpertiseErrorCode
from app.guidelines.error_codes import GuidelineErrorCode
from app.ingestion.error_codes import IngestionErrorCode
from app.interop.label_studio.error_codes import LabelStudioImportErrorCode
from app.policies.error_codes import RoleErrorCode
from app.projects.error_codes import ProjectErrorCode
from app.schema import build_schema
from app.settings import Settings
from app.sso.error_codes import SsoErrorCode
from app.taxonomy.error_codes import TaxonomyErrorCode
from app.workflow.error_codes import WorkflowErrorCode

APP = Path(__file__).resolve().parents[2] / "app"
COMMON = ("schema/mutation.py", "projects/reads.py")
STORED = (*COMMON, "json_bounds.py")  # operations that store JSON documents
AREAS: dict[type[enum.StrEnum], tuple[str, ...]] = {
    ProjectErrorCode: (*STORED, "projects/service.py", "taxonomy/schema_language.py", "guidelines/content.py"),
    IngestionErrorCode: (
        *STORED,
        "ingestion/service.py",
        "ingestion/anonymization.py",
        "ingestion/anonymize/custom.py",
        "expertise/service.py:check_value",
        "consent/service.py:import_problem",  # each row's consent record
    ),
    # A Label Studio export: its config, then its rows through importItems' and submitSuggestions' own
    # checks, labels through the lifecycle's claim and submit moves.
    LabelStudioImportErrorCode: (
        *STORED,
        "interop/label_studio/config.py",
        "interop/label_studio/convert.py",
        "interop/label_studio/service.py",
        "ingestion/service.py",
        "ingestion/anonymization.py",
        "ingestion/anonymize/custom.py",
        "expertise/service.py:check_value",
        "consent/service.py:import_problem",
        "automation/service.py",
        "automation/registry.py",
        "taxonomy/schema_language.py",
        "workflow/lifecycle.py",
        "workflow/decisions.py",
    ),
    # Recording, revoking (which moves items: lifecycle's withdraw) and the consent policy.
    ConsentErrorCode: (
        *STORED,
        "consent/service.py:!import_problem",
        "consent/reads.py",
        "workflow/lifecycle.py:withdraw_consented",
    ),
    # Erasing (which moves items: lifecycle's withdraw_erased) and the retention period.
    ErasureErrorCode: (
        *STORED,
        "erasure/service.py",
        "erasure/scrub.py",
        "workflow/lifecycle.py:withdraw_erased",
        "auth/refresh.py:revoke_all",
        "projects/reads.py",
    ),
    ExpertiseErrorCode: (
        *STORED,
        "expertise/service.py",
        "expertise/qualification.py",
        "taxonomy/schema_language.py",
    ),
    WorkflowErrorCode: (
        *STORED,
        "workflow/queue.py",
        "workflow/labeling.py",
        "workflow/review.py",
        "workflow/tasks.py",
        "workflow/reads.py",
        "workflow/lifecycle.py",
        "workflow/decisions.py",
        "workflow/policy.py",
        "audits/rules.py:check_high_impact",  # updateQualityPolicy's highImpactClasses
        "automation/auto_accept.py:check_thresholds",  # updateQualityPolicy's autoAcceptConfidence
        "workflow/escalations.py",
        "workflow/estimates.py",
        "workflow/quality_report.py",  # projectQuality's window check, answered as BAD_USER_INPUT
        "insights/service.py",  # projectOperations' period and bucket checks, answered as BAD_USER_INPUT
        "taxonomy/schema_language.py",
        "guidelines/service.py:require_acknowledged",
        # The claim's gate: suspension, certificates, and serving a qualification set.
        "expertise/qualification.py:claim_gate",
        "expertise/qualification.py:require_prerequisites",
        "expertise/qualification.py:_begin",
        "expertise/qualification.py:question",
    ),
    TaxonomyErrorCode: (
        *STORED,
        "taxonomy/service.py",
        "taxonomy/mapping.py",
        "taxonomy/schema_language.py",
        "taxonomy/impact.py",
    ),
    # The acknowledgement gate is the claim's (WorkflowErrorCode), not a guideline mutation's.
    GuidelineErrorCode: (*STORED, "guidelines/service.py:!require_acknowledged", "guidelines/content.py"),
    # Promotion checks the draft it adds an edge case to as a save does (guideline content and service).
    DiscussionErrorCode: (
        *STORED,
        "discussion/service.py",
        "discussion/reads.py",
        "guidelines/service.py:!require_acknowledged",
        "guidelines/content.py",
    ),
    AuditErrorCode: (
        *STORED,
        "audits/service.py",
        "audits/rules.py",
        "workflow/lifecycle.py",  # escalateItem's move
        "workflow/decisions.py",
        "taxonomy/schema_language.py",
    ),
    # Suggestions (values checked by the label-schema language), the policy, heuristic rules (their
    # patterns checked as anonymization rules' are).
    AutomationErrorCode: (
        *STORED,
        "automation/service.py",
        "automation/registry.py",
        "automation/heuristics.py",
        "automation/training.py",  # trainModel, updateActiveLearningPolicy (TrainingCode comes from classifier.py)
        "automation/detection.py",  # detectLabelIssues (it flags through audits' flag_for_audit, which it
        # calls only for decided items with a detail well under the bound: NOT_DECIDED, TOO_LONG unreachable)
        "taxonomy/schema_language.py",
        "ingestion/anonymize/custom.py:check_pattern",
    ),
    RoleErrorCode: (*COMMON, "policies/service.py"),
    # Webhooks: the URL's form and address (addresses.py), what one may manage (reads.py).
    EventsErrorCode: (*COMMON, "events/service.py", "events/reads.py", "events/addresses.py"),
    TokenErrorCode: (*COMMON, "auth/refresh.py"),
    # People and service accounts: their fields, passwords and links, the grants an invitation carries.
    IdentityErrorCode: (
        *COMMON,
        "json_bounds.py",
        "auth/people.py",
        "auth/credentials.py",
        "auth/machines.py",
        "auth/links.py",
        "auth/fields.py",
        "auth/password_policy.py",
        "policies/service.py:check_fit",
    ),
    # Identity providers: the issuer's form and address (the webhooks' policy), mappings' projects.
    SsoErrorCode: (*COMMON, "sso/service.py", "events/addresses.py", "projects/reads.py"),
}


def raised_codes(source: str) -> set[str]:
    """The literal codes of every Problem(...) and DomainError.single(...) in a module, in one of
    its functions ("path:name"), or in all of it but one function ("path:!name")."""
    path, _, function = source.partition(":")
    tree = ast.parse((APP / path).read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    roots: list[ast.AST] = [tree]
    if function.startswith("!"):
        assert function[1:] in functions, f"{source}: no such function"
        roots = [n for n in tree.body if n is not functions[function[1:]]]
    elif function:
        assert function in functions, f"{source}: no such function"
        roots = [functions[function]]
    codes = set()
    for root in roots:
        for node in ast.walk(root):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("Problem", "single"):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    codes.add(first.value)
    return codes


@pytest.mark.parametrize("area", AREAS, ids=[a.__name__ for a in AREAS])
def test_every_code_an_area_can_raise_is_in_its_enum(area: type[enum.StrEnum]) -> None:
    declared = {member.value for member in area}
    for source in AREAS[area]:
        missing = raised_codes(source) - declared
        assert missing == set(), f"{source} raises {sorted(missing)}, which {area.__name__} lacks"


def test_every_module_that_raises_codes_is_in_an_area() -> None:
    covered = {source.partition(":")[0] for sources in AREAS.values() for source in sources}
    raising = {str(path.relative_to(APP)) for path in APP.rglob("*.py") if raised_codes(str(path.relative_to(APP)))}
    # auth/service.py, erasure/retention.py and cli.py itself raise only for the CLI (creating
    # identities, `retention apply`, the admin a `user deactivate` acts as), which prints the message.
    assert raising - covered == {"auth/service.py", "erasure/retention.py", "cli.py"}


def sdl_schema():  # type: ignore[no-untyped-def]
    return schema_from_sdl(build_schema(Settings()).as_str())


def test_every_mutation_payload_lists_typed_errors_of_the_user_error_interface() -> None:
    schema = sdl_schema()
    assert schema.mutation_type is not None
    interface = schema.get_type("UserError")
    for name, field in schema.mutation_type.fields.items():
        payload = field.type
        assert isinstance(payload, GraphQLObjectType), f"{name}: a refusal must null only the payload"
        errors = payload.fields["errors"].type
        assert isinstance(errors, GraphQLNonNull), name
        assert isinstance(errors.of_type, GraphQLList), name
        item = errors.of_type.of_type
        assert isinstance(item, GraphQLNonNull), name
        assert isinstance(item.of_type, GraphQLObjectType), name
        error_type = item.of_type
        assert interface in error_type.interfaces, f"{name}: {error_type.name} does not implement UserError"
        code = error_type.fields["code"].type
        assert isinstance(code, GraphQLNonNull), name
        assert isinstance(code.of_type, GraphQLEnumType), name
        assert code.of_type.name == f"{error_type.name}Code", name


def test_the_sdl_enums_are_the_areas_enums() -> None:
    schema = sdl_schema()
    for area in AREAS:
        sdl_enum = schema.get_type(area.__name__)
        assert isinstance(sdl_enum, GraphQLEnumType), area.__name__
        assert set(sdl_enum.values) == {member.value for member in area}


def test_every_mutation_declares_its_operation() -> None:
    """Each mutation's permission and audit action are declared once (app/operations.py)."""
    schema = sdl_schema()
    assert schema.mutation_type is not None
    declared = {}
    for path in APP.rglob("*.py"):
        module = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        for node in tree.body:
            call = node.value if isinstance(node, ast.Assign) else None
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Operation":
                name = call.args[0]
                assert isinstance(name, ast.Constant)
                assert name.value not in declared, f"{name.value} declared twice"
                declared[name.value] = module
    assert set(declared) == set(schema.mutation_type.fields), "a mutation without its Operation, or the reverse"
    assert app.operations.Operation.__module__ == "app.operations"
