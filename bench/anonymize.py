"""Anonymization at import: recall and precision per detector on a generated corpus, and the
import speed of 10,000 items through a real server with anonymization on and off.

    .venv/bin/python -m bench.anonymize [--texts N] [--items N] [--runs N] [--seed S] [--postgres]

1. **Accuracy** (in process, no server): N texts (seeded) of review-like filler, each with 0 to 3
   planted values of random kinds in random formats, and near misses that must stay: numbers
   that look like cards but fail Luhn (or carry no issuer's prefix), IBANs with a bad checksum or
   length, IPv4s with an octet over 255 or leading zeros, dates, times, MAC addresses, versions
   (`1.2.3`, `v1.2.3.4`), invoice and order numbers, SSNs with area 000/666/9xx or group 00,
   nine bare digits, short or unassigned phone numbers, bare domains. A find is a true positive
   when its span and kind are exactly a planted value's. Per kind: planted, found, recall,
   precision. (A bare dotted quad such as "version 1.2.3.4" is an IPv4 address to the detector:
   the corpus writes versions as three parts or with a "v", the way release notes do.)
2. **Speed**: a fresh database and server (bench/server.py); two projects, anonymization on in
   one; per run, 10,000 items (the same rows, 200-character texts a third of which hold planted
   values) imported into each project in one `importItems` call, alternating which goes first.
   Prints the medians, the ratio of the medians and the median of the per-run ratios.

Figures go to bench/README.md by hand; nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from app.ingestion.anonymize import checksums
from app.ingestion.anonymize.detectors import Kind
from app.ingestion.anonymize.policy import Policy
from bench.server import ADMIN, Server, bootstrap
from bench.stores import PostgresStore, SqliteStore, Store, postgres_answers
from bench.workload import CREATE_PROJECT, SCHEMA, WORDS, Client, sign_in

# --- planted values -----------------------------------------------------------------------------
FIRST = ["anna", "ben", "chloe", "dmitri", "elif", "femi", "gao", "hana", "ivan", "jose", "kofi", "lena"]
LAST = ["smith", "nguyen", "garcia", "muller", "rossi", "kowalski", "tanaka", "okafor", "silva", "dubois"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "uni.example.ac.uk", "shop.example.de"]
PHONE_REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "NG", "MX", "ES", "IT", "NL", "SE", "ZA", "CA"]
IBAN_COUNTRIES = ["DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL", "SE", "NO", "IE", "PT", "DK"]
CARD_PREFIXES = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16)]
CARD_PREFIXES += [("65", 16), ("3528", 16), ("36", 14), ("62", 16), ("4", 19)]


def _email(rng: random.Random) -> str:
    sep = rng.choice([".", "_", "", "+news."])
    name = f"{rng.choice(FIRST)}{sep}{rng.choice(LAST)}{rng.choice(['', str(rng.randint(1, 99))])}"
    value = f"{name}@{rng.choice(DOMAINS)}"
    return value.title() if rng.random() < 0.1 else value


def _phone(rng: random.Random) -> str:
    while True:
        region = rng.choice(PHONE_REGIONS)
        kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = str(example.national_number)
        tail = "".join(rng.choice(string.digits) for _ in range(3))
        number = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{tail}", None)
        if not phonenumbers.is_valid_number(number):
            continue
        if region in {"US", "CA"} and rng.random() < 0.5:
            digits = str(number.national_number)
            style = rng.choice(["({}) {}-{}", "{}-{}-{}", "{}.{}.{}"])
            return style.format(digits[:3], digits[3:6], digits[6:])
        fmt = rng.choice([phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164])
        return phonenumbers.format_number(number, fmt)


def _luhn_digit(body: str) -> str:
    return next(d for d in string.digits if checksums.luhn(body + d))


def _card_digits(rng: random.Random) -> str:
    prefix, length = rng.choice(CARD_PREFIXES)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + _luhn_digit(body)


def _group(digits: str, sep: str) -> str:
    if len(digits) == 15:  # American Express: 4-6-5
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _card(rng: random.Random) -> str:
    digits = _card_digits(rng)
    return rng.choice([digits, _group(digits, " "), _group(digits, "-")])


def _iban_compact(rng: random.Random, *, valid: bool = True) -> str:
    country = rng.choice(IBAN_COUNTRIES)
    bban = "".join(rng.choice(string.digits) for _ in range(checksums.IBAN_LENGTHS[country] - 4))
    rearranged = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(rearranged) % 97
    if not valid:
        check = (check % 97) + 1 if check != 97 else 2  # any other pair of check digits fails
    return f"{country}{check:02d}{bban}"


def _iban(rng: random.Random) -> str:
    compact = _iban_compact(rng)
    return compact if rng.random() < 0.4 else " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _ipv4(rng: random.Random) -> str:
    return str(ipaddress.IPv4Address(rng.randint(1 << 24, (223 << 24) - 1)))


def _ipv6(rng: random.Random) -> str:
    groups = [rng.randint(0, 0xFFFF) if rng.random() < 0.7 else 0 for _ in range(8)]
    first = rng.choice([[0x2001, 0xDB8], [0xFE80, 0], [0x2A00, rng.randint(0, 0xFFFF)]])
    address = ipaddress.IPv6Address(":".join(f"{g:x}" for g in [*first, *groups[2:]]))
    if rng.random() < 0.1:
        return f"::ffff:{_ipv4(rng)}"
    return address.compressed if rng.random() < 0.7 else address.exploded.upper()


def _url(rng: random.Random) -> str:
    path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
    query = f"?id={rng.randint(1, 99999)}&ref={rng.choice(WORDS)}" if rng.random() < 0.4 else ""
    scheme = rng.choice(["https://", "http://", "www."])
    host = rng.choice(DOMAINS) if scheme != "www." else rng.choice(DOMAINS).split(".", 1)[-1]
    return f"{scheme}{host}/{path}{query}"


def _ssn(rng: random.Random) -> str:
    while True:
        area, group, serial = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        if area != 666:
            return f"{area:03d}-{group:02d}-{serial:04d}"


PLANT: dict[Kind, Callable[[random.Random], str]] = {
    Kind.EMAIL: _email,
    Kind.PHONE: _phone,
    Kind.CARD: _card,
    Kind.IBAN: _iban,
    Kind.IPV4: _ipv4,
    Kind.IPV6: _ipv6,
    Kind.URL: _url,
    Kind.SSN: _ssn,
}
LEAD = {
    Kind.EMAIL: ["write to", "mail", "contact:", "from"],
    Kind.PHONE: ["call", "phone:", "tel", "reach me on"],
    Kind.CARD: ["card", "paid with", "charged to", "cc"],
    Kind.IBAN: ["IBAN", "refund to", "account"],
    Kind.IPV4: ["from IP", "host", "client", "seen at"],
    Kind.IPV6: ["from", "address", "peer"],
    Kind.URL: ["see", "link:", "details at", "photos on"],
    Kind.SSN: ["SSN", "social security no.", "ssn:"],
}


# --- near misses: must stay -----------------------------------------------------------------------
def _bad_card(rng: random.Random) -> str:
    digits = _card_digits(rng)
    wrong = str((int(digits[-1]) + rng.randint(1, 9)) % 10)
    return _group(digits[:-1] + wrong, rng.choice([" ", "-"])) if rng.random() < 0.6 else digits[:-1] + wrong


NEAR_MISSES: list[Callable[[random.Random], str]] = [
    lambda r: f"card {_bad_card(r)}",
    lambda r: f"order #{r.randint(10**7, 10**8 - 1)}",
    lambda r: f"invoice INV-{r.randint(2019, 2026)}-{r.randint(1, 999999):06d}",
    # 17 digits from a first digit no card issuer uses (with one, a Luhn pass is a card number).
    lambda r: f"tracking {r.choice('0178')}{''.join(r.choice(string.digits) for _ in range(16))}",
    lambda r: f"IBAN {_iban_compact(r, valid=False)}",
    lambda r: f"IBAN {_iban_compact(r)[:-2]}",  # too short for its country
    lambda r: f"ip {r.randint(256, 999)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}",
    lambda r: f"ip 0{r.randint(1, 9)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}",
    lambda r: f"version {r.randint(0, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}",
    lambda r: f"firmware v{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}",
    lambda r: f"on {r.randint(2000, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    lambda r: f"on {r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(2000, 2026)}",
    lambda r: f"at {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    lambda r: "mac " + ":".join(f"{r.randint(0, 255):02X}" for _ in range(6)),
    lambda r: (
        f"ssn {r.choice(['000', '666', str(r.randint(900, 999))])}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"
    ),
    lambda r: f"ssn {r.randint(1, 899):03d}-00-{r.randint(1, 9999):04d}",
    lambda r: f"id {r.randint(10**8, 10**9 - 1)}",
    lambda r: f"ext {r.randint(100, 999)}-{r.randint(1000, 9999)}",
    lambda r: f"call ({r.randint(100, 199)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}",  # no area code 1xx
    lambda r: f"price ${r.randint(1, 9)},{r.randint(100, 999)}.{r.randint(0, 99):02d}",
    lambda r: f"site {r.choice(DOMAINS)}",
    lambda r: f"ratio {r.randint(1, 20)}:{r.randint(1, 20)}",
]


# How a value sits in running text: bare, in parentheses, angle brackets, quotes, brackets.
WRAPS = [("", ""), ("", ""), ("", ""), ("(", ")"), ("<", ">"), ('"', '"'), ("[", "]"), ("'", "'")]


@dataclass
class Text:
    text: str
    planted: list[tuple[int, int, Kind]] = field(default_factory=list)


def _filler(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_text(rng: random.Random, *, plant: bool = True) -> Text:
    """A review-like text: filler, 0 to 3 planted values with a lead word, 0 to 2 near misses."""
    pieces: list[tuple[str, Kind | None]] = [(_filler(rng, rng.randint(3, 10)), None)]
    events: list[Kind | None] = [rng.choice(list(Kind)) for _ in range(rng.randint(0, 3) if plant else 0)]
    events += [None] * rng.randint(0, 2)
    rng.shuffle(events)
    for kind in events:
        if kind is None:
            pieces.append((rng.choice(NEAR_MISSES)(rng), None))
        else:
            opening, closing = rng.choice(WRAPS)
            pieces.append((rng.choice(LEAD[kind]) + " " + opening, None))
            pieces.append((PLANT[kind](rng), kind))
            pieces.append((closing + rng.choice([",", ".", "", " -", ";", "!", "?"]), None))
        pieces.append((" " + _filler(rng, rng.randint(2, 8)), None))
    text, planted, at = "", [], 0
    for i, (piece, kind) in enumerate(pieces):
        joiner = "" if i == 0 or kind is not None or piece[:1] in ",.;!?)>\"']" else " "
        text += joiner
        at = len(text)
        text += piece
        if kind is not None:
            planted.append((at, at + len(piece), kind))
    return Text(text, planted)


# --- accuracy -----------------------------------------------------------------------------------
def accuracy(texts: list[Text]) -> dict[str, tuple[int, int, int]]:
    """Per kind: (planted, found, true positives)."""
    anonymizer = Policy(enabled=True).anonymizer()
    tally: dict[str, list[int]] = {str(k): [0, 0, 0] for k in Kind}
    for t in texts:
        truth = {(s, e): str(k) for s, e, k in t.planted}
        for kind in truth.values():
            tally[kind][0] += 1
        for f in anonymizer.spans(t.text):
            tally[str(f.kind)][1] += 1
            if truth.get((f.start, f.end)) == str(f.kind):
                tally[str(f.kind)][2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in tally.items()}


def print_accuracy(figures: dict[str, tuple[int, int, int]], misses: list[str]) -> None:
    print(f"{'kind':6} {'planted':>8} {'found':>7} {'recall':>7} {'precision':>9}")
    for kind, (planted, found, tp) in figures.items():
        recall = tp / planted if planted else float("nan")
        precision = tp / found if found else float("nan")
        print(f"{kind:6} {planted:8d} {found:7d} {recall:7.4f} {precision:9.4f}")
    for line in misses[:10]:
        print(f"  {line}")


def misses_of(texts: list[Text]) -> list[str]:
    anonymizer = Policy(enabled=True).anonymizer()
    lines = []
    for t in texts:
        truth = {(s, e): k for s, e, k in t.planted}
        got = {(f.start, f.end): f.kind for f in anonymizer.spans(t.text)}
        for span, kind in truth.items():
            if got.get(span) != kind:
                lines.append(f"missed {kind}: {t.text[span[0] : span[1]]!r}")
        for span, kind in got.items():
            if truth.get(span) != kind:
                lines.append(f"false {kind}: {t.text[span[0] : span[1]]!r} in {t.text!r}")
    return lines


# --- speed --------------------------------------------------------------------------------------
IMPORT = """
mutation ImportItems($input: ImportItemsInput!) {
  importItems(input: $input) { importedCount errors { code field message } }
}"""
POLICY = """
mutation Policy($input: UpdateAnonymizationPolicyInput!) {
  updateAnonymizationPolicy(input: $input) { project { id } errors { code field message } }
}"""


def item_rows(rng: random.Random, n: int, run: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        text = make_text(rng, plant=rng.random() < 1 / 3).text
        while len(text) < 200:
            text += " " + rng.choice(WORDS)
        rows.append({"externalId": f"r{run}-{i:06d}", "data": {"text": text[:200]}})
    return rows


async def _speed(base_url: str, rows_of_run: list[list[dict[str, Any]]]) -> dict[str, list[float]]:
    admin = Client(base_url, await sign_in(base_url, ADMIN))
    projects: dict[str, str] = {}
    for mode in ("off", "on"):
        created = await admin.mutate(
            CREATE_PROJECT, {"input": {"name": f"Anonymize {mode}", "labelSchema": SCHEMA, "overlap": 1}}
        )
        projects[mode] = created["project"]["id"]
    await admin.mutate(POLICY, {"input": {"projectId": projects["on"], "enabled": True}})
    times: dict[str, list[float]] = {"off": [], "on": []}
    for run, rows in enumerate(rows_of_run):
        for mode in ("off", "on") if run % 2 == 0 else ("on", "off"):
            started = time.perf_counter()
            payload = await admin.mutate(IMPORT, {"input": {"projectId": projects[mode], "items": rows}})
            times[mode].append(time.perf_counter() - started)
            assert payload["importedCount"] == len(rows), payload
    await admin.aclose()
    return times


def speed(store: Store, folder: Path, items: int, runs: int, rng: random.Random) -> dict[str, list[float]]:
    rows_of_run = [item_rows(rng, items, run) for run in range(runs)]
    store.fresh()
    bootstrap(store.url())
    try:
        with Server(store.url(), folder / "server.log") as server:
            return asyncio.run(_speed(server.base_url, rows_of_run))
    finally:
        store.drop()


def in_process_cost(texts: list[Text]) -> float:
    """Microseconds per text for the anonymizer alone."""
    anonymizer = Policy(enabled=True).anonymizer()
    started = time.perf_counter()
    for t in texts:
        anonymizer.anonymize({"text": t.text})
    return (time.perf_counter() - started) / len(texts) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13616)
    parser.add_argument("--postgres", action="store_true", help="time the import on PostgreSQL, not SQLite")
    parser.add_argument("--accuracy-only", action="store_true")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    texts = [make_text(rng) for _ in range(args.texts)]
    print(f"accuracy on {len(texts)} texts (seed {args.seed}):")
    print_accuracy(accuracy(texts), misses_of(texts))
    print(f"anonymizer alone: {in_process_cost(texts):.1f} us per text (mean over {len(texts)})")
    if args.accuracy_only:
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store: Store
        if args.postgres:
            reason = postgres_answers()
            if reason:
                print(f"PostgreSQL does not answer: {reason}")
                return 2
            store = PostgresStore()
        else:
            store = SqliteStore(folder)
        times = speed(store, folder, args.items, args.runs, rng)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"import of {args.items} items on {store.name}, {args.runs} runs each:")
    for mode in ("off", "on"):
        spread = ", ".join(f"{t:.2f}" for t in times[mode])
        print(f"  anonymization {mode:3}: median {statistics.median(times[mode]):.2f} s [{spread}]")
    print(f"  on/off ratio of medians: {on / off:.2f}")
    # Each run imports both back to back: its own ratio shrugs off a slow spell of the machine.
    paired = statistics.median(a / b for a, b in zip(times["on"], times["off"], strict=True))
    print(f"  median of the per-run on/off ratios: {paired:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
