"""The casbin enforcer: permissions from policy.csv, grants from the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import casbin
from casbin import persist, util

from app.policies.roles import ORG, Role, domain, user_subject

HERE = Path(__file__).parent
MODEL_PATH = HERE / "model.conf"
POLICY_PATH = HERE / "policy.csv"
MAX_MEMO = 100_000


class RuleListAdapter(persist.Adapter):  # type: ignore[misc]
    """Feeds casbin the permission table and the grants read (asynchronously) beforehand."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = list(lines)

    def load_policy(self, model: Any) -> None:
        for line in self._lines:
            persist.load_policy_line(line, model)


def permission_lines() -> list[str]:
    text = POLICY_PATH.read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


class Authorizer:
    """Answers "may this subject do this action on this object in this project?".

    Decisions are memoised until the next grant or revoke, since a request asks the same
    question many times (once per item on a page).
    """

    def __init__(self, grants: Iterable[tuple[str, str, str]]) -> None:
        self._decisions: dict[tuple[str, str, str, str], bool] = {}
        self.replace_grants(grants)

    def replace_grants(self, grants: Iterable[tuple[str, str, str]]) -> None:
        lines = permission_lines() + [f"g, {s}, {r}, {d}" for s, r, d in grants]
        enforcer = casbin.Enforcer(str(MODEL_PATH), RuleListAdapter(lines))
        # A grant in domain "*" applies in every project.
        enforcer.add_named_domain_matching_func("g", util.key_match)
        enforcer.build_role_links()
        self._enforcer = enforcer
        self._decisions.clear()

    def allowed(self, user_id: uuid.UUID, obj: str, act: str, project_id: uuid.UUID | None) -> bool:
        key = (user_subject(user_id), domain(project_id), obj, act)
        decision = self._decisions.get(key)
        if decision is None:
            decision = bool(self._enforcer.enforce(*key))
            if len(self._decisions) >= MAX_MEMO:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def grants_of(self, user_id: uuid.UUID) -> list[tuple[Role, str]]:
        rules = self._enforcer.get_filtered_grouping_policy(0, user_subject(user_id))
        return sorted((Role(r[1].removeprefix("role:")), r[2]) for r in rules)

    def has_grant(self, user_id: uuid.UUID, role: Role, project_id: uuid.UUID | None) -> bool:
        return bool(self._enforcer.has_grouping_policy(user_subject(user_id), role.subject, domain(project_id)))

    def apply_grant(self, user_id: uuid.UUID, role: Role, project_id: uuid.UUID | None) -> None:
        """Mirror a committed grant in memory."""
        self._enforcer.add_grouping_policy(user_subject(user_id), role.subject, domain(project_id))
        self._decisions.clear()

    def apply_revoke(self, user_id: uuid.UUID, role: Role, project_id: uuid.UUID | None) -> None:
        self._enforcer.remove_grouping_policy(user_subject(user_id), role.subject, domain(project_id))
        self._decisions.clear()

    def projects_with(self, user_id: uuid.UUID, obj: str, act: str) -> set[uuid.UUID] | None:
        """Projects where the user may do (obj, act); None means every project (an org-wide grant)."""
        if self.allowed(user_id, obj, act, None):
            return None
        found: set[uuid.UUID] = set()
        for _role, dom in self.grants_of(user_id):
            if dom != ORG:
                pid = uuid.UUID(dom.removeprefix("project:"))
                if self.allowed(user_id, obj, act, pid):
                    found.add(pid)
        return found
