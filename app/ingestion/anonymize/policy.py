"""A project's anonymization policy: on or off, which built-in detectors, its own rules, and what
an import does with content the project already holds. Stored on the project row."""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.ingestion.anonymize import custom
from app.ingestion.anonymize.detectors import Detector, Kind, builtin
from app.ingestion.anonymize.redact import Anonymizer


class DuplicateContent(enum.StrEnum):
    """What importItems does with a row whose content hash the project already holds (or an
    earlier row of the same call has)."""

    ALLOW = "ALLOW"  # imported; the hash is there for the client to group by
    REJECT = "REJECT"  # DUPLICATE_CONTENT on the row, and the call imports nothing


@dataclass(frozen=True)
class Policy:
    enabled: bool = False
    detectors: tuple[Kind, ...] = tuple(Kind)
    rules: tuple[custom.Rule, ...] = ()
    duplicate_content: DuplicateContent = DuplicateContent.ALLOW

    def settings_json(self) -> dict[str, Any]:
        """The stored form of the detectors and rules (project.anonymization)."""
        return {"detectors": [str(k) for k in self.detectors], "rules": [r.to_json() for r in self.rules]}

    @classmethod
    def of(cls, enabled: bool, stored: dict[str, Any], duplicate_content: str) -> Policy:
        detectors = stored.get("detectors")
        return cls(
            enabled=enabled,
            detectors=tuple(Kind(k) for k in detectors) if detectors is not None else tuple(Kind),
            rules=tuple(custom.Rule.from_json(r) for r in stored.get("rules", ())),
            duplicate_content=DuplicateContent(duplicate_content),
        )

    def anonymizer(self) -> Anonymizer:
        return _anonymizer(self.detectors, self.rules)


@functools.lru_cache(maxsize=8)
def _anonymizer(kinds: Sequence[Kind], rules: Sequence[custom.Rule]) -> Anonymizer:
    """Compiled once per process and policy: a term list's RE2 program is the costly part (up to
    32 MiB of DFA each, allocated as it is used; 8 policies are kept)."""
    detectors: list[Detector] = [builtin(kind) for kind in Kind if kind in kinds]
    detectors += custom.detectors(rules)
    return Anonymizer(detectors)
