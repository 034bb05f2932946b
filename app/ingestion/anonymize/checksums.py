"""The checks that tell a real identifier from a string of digits that only looks like one.

Pure functions over the digits (or characters) of a candidate, no separators: Luhn for payment
cards (with the issuers' prefixes and lengths), ISO 13616 mod-97 for IBANs (with the registry's
length per country), the SSA's rules for US social security numbers.
"""

from __future__ import annotations

# ISO 13616 registry: the IBAN length of each country that issues them.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# Payment card issuers: (lowest prefix, highest prefix) of one digit count, and the lengths issued.
_CARD_RANGES: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (6011, 6011, frozenset({16, 17, 18, 19})),  # Discover
    (644, 649, frozenset({16, 17, 18, 19})),
    (65, 65, frozenset({16, 17, 18, 19})),
    (3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (300, 305, frozenset({14, 15, 16, 17, 18, 19})),  # Diners Club
    (36, 36, frozenset({14, 15, 16, 17, 18, 19})),
    (38, 39, frozenset({16, 17, 18, 19})),
    (62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    (2200, 2204, frozenset({16, 17, 18, 19})),  # Mir
    (5018, 5018, frozenset({13, 14, 15, 16, 17, 18, 19})),  # Maestro
    (5020, 5020, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (5038, 5038, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (5893, 5893, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (6304, 6304, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (6759, 6759, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (6761, 6763, frozenset({13, 14, 15, 16, 17, 18, 19})),
)


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_issued(digits: str) -> bool:
    """Does an issuer hand out card numbers with this prefix and this many digits?"""
    n = len(digits)
    for low, high, lengths in _CARD_RANGES:
        width = len(str(low))
        if n in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


def card_number(digits: str) -> bool:
    """A payment card number: 13 to 19 digits, an issuer's prefix and length, the Luhn check."""
    return 13 <= len(digits) <= 19 and digits.isascii() and digits.isdigit() and card_issued(digits) and luhn(digits)


def iban(compact: str) -> bool:
    """An IBAN without spaces, upper case: the country's length and ISO 13616's mod-97 == 1."""
    if len(compact) < 15 or not compact.isascii() or not compact.isalnum():
        return False
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    # Letters count as 10..35 (A = 10); int() of the joined digits, then mod 97.
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ssn(area: str, group: str, serial: str) -> bool:
    """A US social security number the SSA could have issued: no area 000, 666 or 9xx, no group 00,
    no serial 0000."""
    return area not in {"000", "666"} and not area.startswith("9") and group != "00" and serial != "0000"
