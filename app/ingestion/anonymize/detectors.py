"""The built-in detectors: small typed objects, each a kind, a candidate pattern and a validator.

A detector's pattern finds candidates cheaply (stdlib `re`, written here, so no user input ever
reaches a backtracking engine); its validator says whether a candidate is the real thing and gives
its canonical form, the form that decides "the same value" within an item (an e-mail address in
any letter case, a card number with or without spaces, an IPv6 address compressed or not).
`gate` is a substring or pattern a text must hold before the detector runs at all: most strings
hold no `@`, no digit, no `://`.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import phonenumbers

from app.ingestion.anonymize import checksums


class Kind(enum.StrEnum):
    """The built-in kinds of personal data; a placeholder is `[KIND_n]`."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CARD = "CARD"
    IBAN = "IBAN"
    IPV4 = "IPV4"
    IPV6 = "IPV6"
    URL = "URL"
    SSN = "SSN"


@dataclass(frozen=True, slots=True)
class Found:
    """A value to replace: text[start:end], of `kind`, `canonical` names it within the item."""

    start: int
    end: int
    kind: str
    canonical: str


class Detector(Protocol):
    @property
    def kind(self) -> str: ...

    def find(self, text: str) -> Iterator[Found]: ...


@dataclass(frozen=True)
class PatternDetector:
    """Candidates from `pattern` (group `v` when it has one, else the whole match), kept when
    `validate` returns their canonical form, and only in texts that pass `gate`."""

    kind: str
    pattern: re.Pattern[str]
    validate: Callable[[str], str | None]
    gate: Callable[[str], bool] | None = None

    def find(self, text: str) -> Iterator[Found]:
        if self.gate is not None and not self.gate(text):
            return
        group = "v" if "v" in self.pattern.groupindex else 0
        for match in self.pattern.finditer(text):
            start, end = match.span(group)
            canonical = self.validate(text[start:end])
            if canonical is not None:
                yield Found(start, end, self.kind, canonical)


_DIGIT = re.compile(r"\d", re.ASCII)
# The patterns below start with a character class and look behind only after it (`\d(?<![\w.]\d)`,
# not `(?<![\w.])\d`): sre then skips to candidate characters instead of trying every position,
# two to three times faster on running text.


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


# --- e-mail -------------------------------------------------------------------------------------
EMAIL_PATTERN = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-]|\.[A-Za-z0-9])"
)


def _email(candidate: str) -> str | None:
    local, _, domain = candidate.partition("@")
    if ".." in local or len(candidate) > 254:
        return None
    return f"{local}@{domain.lower()}".lower()


# --- phone numbers ------------------------------------------------------------------------------
# International (+ and a country code, 7 to 15 digits with spaces, dots, dashes, parentheses) and
# North American national formats written with separators ((415) 555-2671, 415-555-2671).
PHONE_INTERNATIONAL = re.compile(r"\+(?<![\w+]\+)\d(?:[ .()-]{0,2}\d){6,14}(?![\w])", re.ASCII)
PHONE_NATIONAL = re.compile(
    r"[(\d](?<![\w+.-][(\d])(?:(?<=\()\d{3}\)[ ]?|(?<=\d)\d{2}[-. ])\d{3}[-. ]\d{4}(?![\w-]|\.\d)", re.ASCII
)


def _phone(candidate: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class PhoneDetector:
    """Phone numbers, checked by Google's libphonenumber (`phonenumbers`): valid for the country
    the + code names, or in North America when written without one."""

    kind: str = Kind.PHONE

    def find(self, text: str) -> Iterator[Found]:
        if not _has_digit(text):
            return
        if "+" in text:
            for match in PHONE_INTERNATIONAL.finditer(text):
                start, end = match.span()
                for stop in _phone_ends(text, start, end):
                    canonical = _phone(text[start:stop], None)
                    if canonical is not None:
                        yield Found(start, stop, self.kind, canonical)
                        break
        for match in PHONE_NATIONAL.finditer(text):
            start, end = match.span()
            digits = "".join(ch for ch in match.group() if ch.isdigit())
            if digits[0] in "01" or digits[3] in "01":  # no North American area code or exchange
                continue
            canonical = _phone(text[start:end], "US")
            if canonical is not None:
                yield Found(start, end, self.kind, canonical)


_PHONE_GROUP_END = re.compile(r"\d(?=[ .-]+\d)")


def _phone_ends(text: str, start: int, end: int) -> list[int]:
    """Where an international candidate may end: all of it, then without its last one or two
    digit groups (a number written right after it: "+44 20 7946 0958 12 times")."""
    inner = [m.end() for m in _PHONE_GROUP_END.finditer(text, start, end)]
    return [end, *reversed(inner[-2:])]


# --- payment cards ------------------------------------------------------------------------------
CARD_PATTERN = re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){12,18}(?![\w]|[ -]\d)", re.ASCII)


def _card(candidate: str) -> str | None:
    separators = {ch for ch in candidate if not ch.isdigit()}
    if len(separators) > 1:  # 4111 1111-1111 1111: not how a card is written
        return None
    digits = candidate.replace(" ", "").replace("-", "")
    return digits if checksums.card_number(digits) else None


# --- IBAN ---------------------------------------------------------------------------------------
IBAN_START = re.compile(r"[A-Z](?<![\w][A-Z])[A-Z]\d{2}(?=[ ]?[A-Z0-9])", re.ASCII)
_IBAN_BODY = re.compile(r"[ ]?[A-Z0-9]", re.ASCII)


@dataclass(frozen=True)
class IbanDetector:
    """IBANs in upper case, compact or in groups of four: the country's registered length read
    from the text (so a word after it is not swallowed), then the mod-97 check."""

    kind: str = Kind.IBAN

    def find(self, text: str) -> Iterator[Found]:
        if not _has_digit(text):
            return
        for match in IBAN_START.finditer(text):
            length = checksums.IBAN_LENGTHS.get(match.group()[:2])
            if length is None:
                continue
            pos, compact = match.end(), [match.group()]
            taken = 4
            while taken < length:
                step = _IBAN_BODY.match(text, pos)
                if step is None:
                    break
                compact.append(step.group()[-1])
                pos, taken = step.end(), taken + 1
            if taken < length or (pos < len(text) and (text[pos].isalnum() or text[pos] == "_")):
                continue
            value = "".join(compact)
            if checksums.iban(value):
                yield Found(match.start(), pos, self.kind, value)


# --- IP addresses -------------------------------------------------------------------------------
IPV4_PATTERN = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\w]|\.\w)", re.ASCII)


def _ipv4(candidate: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(candidate))  # refuses 256 and leading zeros (01)
    except ValueError:
        return None


IPV6_PATTERN = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,45}(?![\w:])",
    re.ASCII,
)


def _ipv6(candidate: str) -> str | None:
    candidate = candidate.rstrip(".")
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return None
    if address.is_unspecified:  # "::" on its own is punctuation more often than an address
        return None
    return address.compressed


@dataclass(frozen=True)
class Ipv6Detector:
    kind: str = Kind.IPV6

    def find(self, text: str) -> Iterator[Found]:
        if ":" not in text:
            return
        for match in IPV6_PATTERN.finditer(text):
            raw = match.group()
            trimmed = raw.rstrip(".")
            canonical = _ipv6(trimmed)
            if canonical is not None:
                yield Found(match.start(), match.start() + len(trimmed), self.kind, canonical)


# --- URLs ---------------------------------------------------------------------------------------
URL_PATTERN = re.compile(r"(?<![\w@/.])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?*'\""


def _url_end(text: str, start: int, end: int) -> int:
    """Where a URL really ends: without sentence punctuation or a closing parenthesis it did not open."""
    while end > start:
        ch = text[end - 1]
        if ch in _URL_TAIL or (ch == ")" and text.count("(", start, end) < text.count(")", start, end)):
            end -= 1
        else:
            break
    return end


@dataclass(frozen=True)
class UrlDetector:
    """http(s), ftp and www. addresses with a host name; bare domains (example.com) are not URLs."""

    kind: str = Kind.URL

    def find(self, text: str) -> Iterator[Found]:
        if "://" not in text and "www." not in text.lower():
            return
        for match in URL_PATTERN.finditer(text):
            start = match.start()
            end = _url_end(text, start, match.end())
            value = text[start:end]
            target = value if "://" in value else f"http://{value}"
            try:
                host = urlsplit(target).hostname
            except ValueError:
                continue
            if host and ("." in host or host == "localhost"):
                yield Found(start, end, self.kind, value)


# --- US social security numbers -----------------------------------------------------------------
SSN_PATTERN = re.compile(r"(\d(?<![\w-]\d)\d{2})-(\d{2})-(\d{4})(?![\w]|-\d)", re.ASCII)


@dataclass(frozen=True)
class SsnDetector:
    """Dashed US SSNs (123-45-6789) that the SSA could have issued; nine bare digits are not
    taken (they are too often something else)."""

    kind: str = Kind.SSN

    def find(self, text: str) -> Iterator[Found]:
        if "-" not in text:
            return
        for match in SSN_PATTERN.finditer(text):
            if checksums.ssn(*match.groups()):
                yield Found(match.start(), match.end(), self.kind, "".join(match.groups()))


def builtin(kind: Kind) -> Detector:
    """The detector of a built-in kind."""
    return _BUILTIN[kind]


_BUILTIN: dict[Kind, Detector] = {
    Kind.EMAIL: PatternDetector(Kind.EMAIL, EMAIL_PATTERN, _email, gate=lambda text: "@" in text),
    Kind.PHONE: PhoneDetector(),
    Kind.CARD: PatternDetector(Kind.CARD, CARD_PATTERN, _card, gate=_has_digit),
    Kind.IBAN: IbanDetector(),
    Kind.IPV4: PatternDetector(Kind.IPV4, IPV4_PATTERN, _ipv4, gate=lambda text: "." in text),
    Kind.IPV6: Ipv6Detector(),
    Kind.URL: UrlDetector(),
    Kind.SSN: SsnDetector(),
}
