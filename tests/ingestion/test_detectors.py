"""The anonymizer's detectors and placeholders, as pure functions: each detector's positives and
its near misses (a card failing Luhn, an IBAN with a bad checksum, addresses out of range), how
overlaps resolve, and placeholders numbered per item and per kind."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingestion.anonymize import checksums, custom
from app.ingestion.anonymize.detectors import Kind
from app.ingestion.anonymize.policy import Policy

EVERYTHING = Policy(enabled=True).anonymizer()


def found(text: str) -> list[tuple[str, str]]:
    """(kind, the text replaced) of every value found in a text."""
    return [(f.kind, text[f.start : f.end]) for f in EVERYTHING.spans(text)]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (Kind.EMAIL, "jane.doe+tag@mail.example.co.uk"),
        (Kind.EMAIL, "J_Smith@Example.COM"),
        (Kind.PHONE, "+44 20 7946 0958"),
        (Kind.PHONE, "+1 (415) 555-2671"),
        (Kind.PHONE, "+49 30 901820"),
        (Kind.PHONE, "+33 1 42 68 53 00"),
        (Kind.PHONE, "(415) 555-2671"),
        (Kind.PHONE, "212.555.1234"),
        (Kind.CARD, "4111 1111 1111 1111"),
        (Kind.CARD, "5500-0000-0000-0004"),
        (Kind.CARD, "378282246310005"),
        (Kind.CARD, "6011111111111117"),
        (Kind.IBAN, "DE89 3704 0044 0532 0130 00"),
        (Kind.IBAN, "GB82WEST12345698765432"),
        (Kind.IBAN, "NO9386011117947"),
        (Kind.IPV4, "192.168.1.10"),
        (Kind.IPV4, "8.8.8.8"),
        (Kind.IPV6, "2001:db8::8a2e:370:7334"),
        (Kind.IPV6, "fe80::1"),
        (Kind.IPV6, "::ffff:192.0.2.128"),
        (Kind.URL, "https://example.com/path?q=1&r=2#frag"),
        (Kind.URL, "www.example.org/page"),
        (Kind.SSN, "123-45-6789"),
    ],
)
def test_each_detector_finds_its_kind_in_running_text(kind: Kind, value: str) -> None:
    assert found(f"Contact: {value}, thanks.") == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # fails Luhn
        "order 1234 5678 9012 3456",  # fails Luhn, no issuer
        "ref 0000 0000 0000 0000",  # passes Luhn, no issuer
        "iban DE89 3704 0044 0532 0130 01",  # bad mod-97
        "iban DE89 3704 0044 0532 0130",  # too short for DE
        "iban XX89 3704 0044 0532 0130 00",  # no such country
        "ip 256.1.1.1 or 999.168.1.1",
        "ip 01.02.03.04",  # leading zeros are not an address
        "version 1.2.3 and v1.2.3.4 and 1.2.3.4.5",
        "time 12:30:45 and ratio 3:2, mac 00:1A:2B:3C:4D:5E",
        "ipv6 2001:db8:::1 and 12345::1",
        "ssn 000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567, 123-45-0000",
        "date 2024-01-15 and 15.01.2024 and 2024/01/15",
        "phone +1 555 0100 and (123) 456-7890",  # too short; area code 123 is not issued
        "not an email: jane@localhost, @handle, a@b",
        "domains alone are not URLs: example.com",
        "nine digits alone are not an SSN: 123456789",
    ],
)
def test_near_misses_are_left_alone(text: str) -> None:
    assert found(text) == []


def test_trailing_punctuation_is_not_part_of_the_value() -> None:
    text = "See (https://example.com/a_(b)) or www.example.org. Mail a@b.io. IP 10.0.0.1."
    assert found(text) == [
        (Kind.URL, "https://example.com/a_(b)"),
        (Kind.URL, "www.example.org"),
        (Kind.EMAIL, "a@b.io"),
        (Kind.IPV4, "10.0.0.1"),
    ]


def test_an_iban_is_read_to_its_country_length_and_no_further() -> None:
    assert found("DE89 3704 0044 0532 0130 00 ABCD") == [(Kind.IBAN, "DE89 3704 0044 0532 0130 00")]


def test_overlaps_go_to_the_longest_then_the_first() -> None:
    # The URL holds an e-mail address and an IP: the URL is longest.
    assert found("http://192.168.0.1/?to=a@b.com") == [(Kind.URL, "http://192.168.0.1/?to=a@b.com")]
    # Two rules matching the same span: the earlier rule wins.
    anonymizer = Policy(
        enabled=True,
        detectors=(),
        rules=(custom.Rule("FIRST", pattern="ab+"), custom.Rule("SECOND", pattern="abb")),
    ).anonymizer()
    assert anonymizer.anonymize({"t": "abb"}).data == {"t": "[FIRST_1]"}


def test_placeholders_are_numbered_per_kind_and_repeat_for_the_same_value() -> None:
    data = {
        "subject": "From Jane@Example.com",
        "body": ["jane@example.com wrote to bob@example.com", {"cc": "JANE@EXAMPLE.COM", "n": 3}],
        "card": "4111111111111111 = 4111 1111 1111 1111",
        "flag": True,
    }
    result = EVERYTHING.anonymize(data)
    assert result.data == {
        "subject": "From [EMAIL_1]",
        "body": ["[EMAIL_1] wrote to [EMAIL_2]", {"cc": "[EMAIL_1]", "n": 3}],
        "card": "[CARD_1] = [CARD_1]",
        "flag": True,
    }
    assert result.counts == {"EMAIL": 4, "CARD": 2}


def test_keys_are_kept_and_numbering_starts_again_per_item() -> None:
    assert EVERYTHING.anonymize({"a@b.com": "c@d.com"}).data == {"a@b.com": "[EMAIL_1]"}
    assert EVERYTHING.anonymize({"x": "e@f.com"}).data == {"x": "[EMAIL_1]"}


def test_phone_numbers_are_the_same_value_in_any_format() -> None:
    result = EVERYTHING.anonymize({"t": "+1 415 555 2671 or (415) 555-2671 or +44 20 7946 0958"})
    assert result.data == {"t": "[PHONE_1] or [PHONE_1] or [PHONE_2]"}


def test_term_lists_match_whole_words_in_any_case() -> None:
    anonymizer = Policy(
        enabled=True,
        detectors=(),
        rules=(custom.Rule("CLIENT", terms=("Acme Corp", "Acme", "Globex", "Zoë")),),
    ).anonymizer()
    result = anonymizer.anonymize(
        {"t": "ACME CORP and acme,Acme Corporation; Acmes; Globex-owned; megaglobex; ZOË and zoë_x"}
    )
    assert result.data == {
        "t": "[CLIENT_1] and [CLIENT_2],[CLIENT_2] Corporation; Acmes; [CLIENT_3]-owned; megaglobex; "
        "[CLIENT_4] and zoë_x"
    }


def test_custom_patterns_run_on_re2() -> None:
    anonymizer = Policy(enabled=True, detectors=(), rules=(custom.Rule("EMPLOYEE", pattern=r"EMP-\d{6}"),)).anonymizer()
    assert anonymizer.anonymize({"t": "EMP-123456, EMP-12345, EMP-123456"}).data == {
        "t": "[EMPLOYEE_1], EMP-12345, [EMPLOYEE_1]"
    }


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        (custom.Rule("lower", pattern="x"), "INVALID_NAME"),
        (custom.Rule("EMAIL", pattern="x"), "DUPLICATE_NAME"),
        (custom.Rule("X"), "INVALID_RULE"),
        (custom.Rule("X", pattern="x", terms=("x",)), "INVALID_RULE"),
        (custom.Rule("X", pattern=r"(a)\1"), "UNSUPPORTED_PATTERN"),
        (custom.Rule("X", pattern=r"(?=a)"), "UNSUPPORTED_PATTERN"),
        (custom.Rule("X", pattern="a{2000}"), "UNSUPPORTED_PATTERN"),
        (custom.Rule("X", pattern="a*"), "MATCHES_EMPTY"),
        (custom.Rule("X", pattern="a" * 1001), "PATTERN_TOO_LONG"),
        (custom.Rule("X", terms=()), "INVALID_TERM"),
        (custom.Rule("X", terms=("  ",)), "INVALID_TERM"),
        (custom.Rule("X", terms=("t" * 101,)), "INVALID_TERM"),
        (custom.Rule("X", terms=tuple(f"t{i}" for i in range(1001))), "TOO_MANY_TERMS"),
    ],
)
def test_rules_that_cannot_run_are_refused_by_name(rule: custom.Rule, code: str) -> None:
    assert [p.code for p in custom.check([rule])] == [code]


def test_at_most_twenty_rules_with_unique_names() -> None:
    rules = [custom.Rule(f"R{i}", pattern="x") for i in range(21)]
    assert [p.code for p in custom.check(rules)] == ["TOO_MANY_RULES"]
    assert [p.code for p in custom.check([custom.Rule("R", pattern="x"), custom.Rule("R", pattern="y")])] == [
        "DUPLICATE_NAME"
    ]


@given(st.lists(st.integers(0, 9), min_size=12, max_size=18))
def test_one_check_digit_makes_any_number_pass_luhn(body: list[int]) -> None:
    digits = "".join(map(str, body))
    passing = [d for d in "0123456789" if checksums.luhn(digits + d)]
    assert len(passing) == 1


def test_iban_checksums_follow_iso_13616() -> None:
    assert checksums.iban("DE89370400440532013000")
    assert not checksums.iban("DE88370400440532013000")
    assert not checksums.iban("DE8937040044053201300")  # DE is 22 characters


def test_a_number_written_after_a_phone_number_is_not_part_of_it() -> None:
    assert found("call +44 20 7946 0958 12 times") == [(Kind.PHONE, "+44 20 7946 0958")]
