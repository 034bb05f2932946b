"""Reading audits: where one may read labels (audits judge labels and decisions, and name people).

An item's audits are listed for those who may read or make labels (as its reviews are); an
annotator's list is empty, roles without either get FORBIDDEN on the field
(app/workflow/reads.require_label_list).
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.audits.models import AuditFinding, QaAudit
from app.auth.actor import Actor
from app.scopes import in_projects


def readable_audits(actor: Actor) -> SelectOfScalar[QaAudit]:
    return select(QaAudit).where(in_projects(actor, col(QaAudit.project_id), "label", "read"))


def findings() -> SelectOfScalar[AuditFinding]:
    """Findings of audits the caller already holds (found through readable_audits): no scope of their own."""
    return select(AuditFinding)
