"""A project's own rules: regular expressions (on RE2) and term lists, checked and compiled.

Patterns come from project managers, so they run on RE2 (linear time, as label-schema patterns
do): at most MAX_PATTERN characters, RE2 syntax, a bounded program; what RE2 cannot run is
UNSUPPORTED_PATTERN, a pattern that matches the empty text MATCHES_EMPTY. Term lists match case
insensitively and as whole words (no letter, digit or underscore on either side); a space in a
term matches any run of white space. All of a project's terms compile into one RE2 program, so a
text is scanned once whatever the number of terms.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from app import json_bounds
from app.errors import Problem
from app.ingestion.anonymize.detectors import Found, Kind

MAX_RULES = 20
MAX_PATTERN = 1000  # characters of a rule's pattern
MAX_TERMS = 1000  # terms over all of a project's term lists
MAX_TERM = 100  # characters of a term
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


class RuleCode(enum.StrEnum):
    """A project's anonymization rules."""

    INVALID_RULE = "INVALID_RULE"
    INVALID_NAME = "INVALID_NAME"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    TOO_MANY_RULES = "TOO_MANY_RULES"
    PATTERN_TOO_LONG = "PATTERN_TOO_LONG"
    UNSUPPORTED_PATTERN = "UNSUPPORTED_PATTERN"
    MATCHES_EMPTY = "MATCHES_EMPTY"
    INVALID_TERM = "INVALID_TERM"
    TOO_MANY_TERMS = "TOO_MANY_TERMS"


@dataclass(frozen=True)
class Rule:
    """A project rule: found values become `[NAME_n]`. Exactly one of pattern and terms."""

    name: str
    pattern: str | None = None
    terms: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        if self.pattern is not None:
            return {"name": self.name, "pattern": self.pattern}
        return {"name": self.name, "terms": list(self.terms or ())}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Rule:
        terms = value.get("terms")
        return cls(value["name"], value.get("pattern"), tuple(terms) if terms is not None else None)


def _options(max_mem: int) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is a Problem, not a line on stderr
    options.max_mem = max_mem
    return options


_PATTERN_OPTIONS = _options(2 << 20)
_TERM_OPTIONS = _options(32 << 20)  # one program for up to MAX_TERMS terms; the DFA needs room
_TERM_OPTIONS.case_sensitive = False
_TERM_OPTIONS.longest_match = True


def compile_pattern(pattern: str) -> Any:
    """A checked pattern compiled on RE2 (None if RE2 refuses it); heuristic rules use it too."""
    try:
        return re2.compile(pattern, _PATTERN_OPTIONS)
    except re2.error:
        return None


def check(rules: Sequence[Rule]) -> list[Problem]:
    """Problems of a project's rules, each at `customRules.N.<field>`; the message names the rule
    broken, never a term."""
    problems: list[Problem] = []
    if len(rules) > MAX_RULES:
        problems.append(Problem("TOO_MANY_RULES", f"At most {MAX_RULES} custom rules.", "customRules"))
    seen: set[str] = set()
    total_terms = 0
    for i, rule in enumerate(rules):
        at = f"customRules.{i}"
        if not NAME.match(rule.name):
            problems.append(
                Problem("INVALID_NAME", "A rule's name is 1 to 32 of A-Z, 0-9 and _, from a letter.", f"{at}.name")
            )
        elif rule.name in Kind.__members__:
            problems.append(Problem("DUPLICATE_NAME", "A rule's name must not be a built-in kind.", f"{at}.name"))
        elif rule.name in seen:
            problems.append(Problem("DUPLICATE_NAME", "Rule names must be unique.", f"{at}.name"))
        seen.add(rule.name)
        if (rule.pattern is None) == (rule.terms is None):
            problems.append(Problem("INVALID_RULE", "A rule has either a pattern or terms.", at))
            continue
        if rule.pattern is not None:
            problems += check_pattern(rule.pattern, f"{at}.pattern")
        else:
            terms = rule.terms or ()
            total_terms += len(terms)
            problems += check_terms(terms, f"{at}.terms", "INVALID_TERM", "term")
    if total_terms > MAX_TERMS:
        problems.append(Problem("TOO_MANY_TERMS", f"At most {MAX_TERMS} terms in all.", "customRules"))
    return problems


def check_terms(terms: Sequence[str], at: str, code: str, noun: str) -> list[Problem]:
    """What is wrong with a list of literal terms (also the keywords of heuristic rules)."""
    if not terms:
        return [Problem(code, f"A {noun} list holds at least one {noun}.", at)]
    problems: list[Problem] = []
    for j, term in enumerate(terms):
        if not term.strip() or len(term) > MAX_TERM:
            problems.append(Problem(code, f"A {noun} has 1 to {MAX_TERM} characters.", f"{at}.{j}"))
        else:
            problems += json_bounds.check_text(term, f"{at}.{j}")
    return problems


def check_pattern(pattern: str, at: str) -> list[Problem]:
    """What is wrong with a manager's pattern (also app/automation/heuristics.py's rules)."""
    if not pattern:
        return [Problem("MATCHES_EMPTY", "A pattern must not match the empty text.", at)]
    if len(pattern) > MAX_PATTERN:
        return [Problem("PATTERN_TOO_LONG", f"A pattern has at most {MAX_PATTERN} characters.", at)]
    problems = json_bounds.check_text(pattern, at)
    if problems:
        return problems
    compiled = compile_pattern(pattern)
    if compiled is None:
        return [
            Problem(
                "UNSUPPORTED_PATTERN",
                "The pattern is not RE2 syntax RE2 can run (no backreferences or lookaround, "
                "repeats up to 1000, a bounded program).",
                at,
            )
        ]
    if compiled.search("") is not None:
        return [Problem("MATCHES_EMPTY", "A pattern must not match the empty text.", at)]
    return []


@dataclass(frozen=True)
class RegexDetector:
    kind: str
    compiled: Any  # re2._Regexp

    def find(self, text: str) -> Iterator[Found]:
        for match in self.compiled.finditer(text):
            start, end = match.span()
            if end > start:
                yield Found(start, end, self.kind, text[start:end])


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _term_regex(term: str) -> str:
    return r"\s+".join(re2.escape(part) for part in term.split())


@dataclass(frozen=True)
class TermDetector:
    """Whole-word, case-insensitive terms. RE2 finds the longest term at each place (with the
    character before it, which must not be part of a word); the end is checked here (RE2 has no
    lookahead), falling back to a shorter term at the same start."""

    kind: str
    compiled: Any
    terms: frozenset[str]  # lower case, single-spaced
    lengths: tuple[int, ...]  # distinct term lengths, longest first

    @classmethod
    def of(cls, kind: str, terms: Sequence[str]) -> TermDetector:
        normal = sorted({" ".join(t.split()) for t in terms}, key=len, reverse=True)
        pattern = r"(?:^|[^\pL\pN_])(?:" + "|".join(_term_regex(t) for t in normal) + ")"
        compiled = re2.compile(pattern, _TERM_OPTIONS)
        lowered = frozenset(t.lower() for t in normal)
        return cls(kind, compiled, lowered, tuple(sorted({len(t) for t in lowered}, reverse=True)))

    def find(self, text: str) -> Iterator[Found]:
        n = len(text)
        for match in self.compiled.finditer(text):
            start, end = match.span()
            if start < end and not _word(text[start]):
                start += 1  # the boundary character before the term
            if end < n and _word(text[end]):
                end = self._shorter(text, start, end)
                if end < 0:
                    continue
            if end > start:
                yield Found(start, end, self.kind, " ".join(text[start:end].lower().split()))

    def _shorter(self, text: str, start: int, end: int) -> int:
        for length in self.lengths:
            stop = start + length
            if stop >= end:
                continue
            if text[start:stop].lower() in self.terms and (stop == len(text) or not _word(text[stop])):
                return stop
        return -1


def detectors(rules: Sequence[Rule]) -> list[RegexDetector | TermDetector]:
    """The detectors of checked rules, in the rules' order."""
    found: list[RegexDetector | TermDetector] = []
    for rule in rules:
        if rule.pattern is not None:
            found.append(RegexDetector(rule.name, compile_pattern(rule.pattern)))
        elif rule.terms:
            found.append(TermDetector.of(rule.name, rule.terms))
    return found
