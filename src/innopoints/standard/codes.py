"""Code lists and check rules: USCC (GB 32100-2015), industry (GB/T 4754-2017), region (GB/T 2260).

Each check exists twice with the same meaning: a scalar function for forms and single
values, and a Polars expression for whole columns (imports never loop over rows).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import polars as pl

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_CHARSET)}

# Province-level prefixes of GB/T 2260 (incl. Taiwan, Hong Kong, Macao).
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character of a USCC from its first 17 characters."""
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """Why `value` is not a valid USCC (a short English reason), or None when it is valid."""
    if len(value) != 18:
        return "length"
    if any(ch not in _USCC_VALUE for ch in value):
        return "charset"
    if uscc_check_char(value[:17]) != value[17]:
        return "check_digit"
    return None


def uscc_problem_expr(column: pl.Expr) -> pl.Expr:
    """Per row: null when the (upper-cased) USCC is valid, else 'length'/'charset'/'check_digit'."""
    text = column.cast(pl.String)
    values = [
        text.str.slice(i, 1).replace_strict(_USCC_VALUE, default=None, return_dtype=pl.Int64)
        for i in range(18)
    ]
    weighted = pl.sum_horizontal([v * w for v, w in zip(values[:17], USCC_WEIGHTS, strict=True)])
    expected = (31 - weighted % 31) % 31
    charset_ok = text.str.contains(f"^[{USCC_CHARSET}]*$")
    return (
        pl.when(text.str.len_chars() != 18)
        .then(pl.lit("length"))
        .when(~charset_ok)
        .then(pl.lit("charset"))
        .when(values[17] != expected)
        .then(pl.lit("check_digit"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


@cache
def industry_divisions() -> dict[str, tuple[str, str, str]]:
    """Division code (2 digits) → (section letter, section name, division name)."""
    path = resources.files("innopoints.standard") / "data" / "gbt4754-2017-divisions.csv"
    with path.open(encoding="utf-8") as handle:
        return {
            row["division"]: (row["section"], row["section_name"], row["division_name"])
            for row in csv.DictReader(handle)
        }


@cache
def industry_sections() -> dict[str, str]:
    """Section letter → section name (门类)."""
    return {sec: name for sec, name, _ in industry_divisions().values()}


SECTION_NAMES_EN = {
    "A": "Agriculture, forestry, animal husbandry and fishery",
    "B": "Mining",
    "C": "Manufacturing",
    "D": "Electricity, heat, gas and water supply",
    "E": "Construction",
    "F": "Wholesale and retail trade",
    "G": "Transport, storage and postal services",
    "H": "Accommodation and catering",
    "I": "Information transmission, software and IT services",
    "J": "Finance",
    "K": "Real estate",
    "L": "Leasing and business services",
    "M": "Scientific research and technical services",
    "N": "Water conservancy, environment and public facilities management",
    "O": "Resident services, repair and other services",
    "P": "Education",
    "Q": "Health and social work",
    "R": "Culture, sports and entertainment",
    "S": "Public administration, social security and social organisations",
    "T": "International organisations",
}


def section_label(section: str, lang: str = "zh") -> str:
    """The name of an industry section (门类) in Chinese or English."""
    if lang.startswith("en"):
        return SECTION_NAMES_EN.get(section, section)
    return industry_sections().get(section, section)


def industry_problem(code: str) -> str | None:
    """Why `code` is not a GB/T 4754-2017 code, or None. Form: letter + 2, 3 or 4 digits."""
    if len(code) not in (3, 4, 5) or not code[0].isalpha() or not code[1:].isdigit():
        return "format"
    division = industry_divisions().get(code[1:3])
    if division is None:
        return "unknown_division"
    if division[0] != code[0]:
        return "section_mismatch"
    return None


def industry_problem_expr(column: pl.Expr) -> pl.Expr:
    """Vectorised `industry_problem`: null when valid."""
    text = column.cast(pl.String)
    divisions = industry_divisions()
    section_of = {div: sec for div, (sec, _, _) in divisions.items()}
    division_section = text.str.slice(1, 2).replace_strict(
        section_of, default=None, return_dtype=pl.String
    )
    return (
        pl.when(~text.str.contains(r"^[A-Z][0-9]{2,4}$"))
        .then(pl.lit("format"))
        .when(division_section.is_null())
        .then(pl.lit("unknown_division"))
        .when(division_section != text.str.slice(0, 1))
        .then(pl.lit("section_mismatch"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def industry_section_expr(column: pl.Expr) -> pl.Expr:
    """The section letter (门类) of an industry code column."""
    return column.cast(pl.String).str.slice(0, 1)


def region_problem(code: str) -> str | None:
    """Why `code` is not a GB/T 2260 region code (6 digits, valid province prefix), or None."""
    if len(code) != 6 or not code.isdigit():
        return "format"
    if code[:2] not in PROVINCE_PREFIXES:
        return "province"
    return None


def region_problem_expr(column: pl.Expr) -> pl.Expr:
    """Vectorised `region_problem`: null when valid."""
    text = column.cast(pl.String)
    return (
        pl.when(~text.str.contains(r"^[0-9]{6}$"))
        .then(pl.lit("format"))
        .when(~text.str.slice(0, 2).is_in(sorted(PROVINCE_PREFIXES)))
        .then(pl.lit("province"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def make_uscc(first17: str) -> str:
    """A valid USCC from 17 characters (used by the demo generator and tests)."""
    return first17 + uscc_check_char(first17)
