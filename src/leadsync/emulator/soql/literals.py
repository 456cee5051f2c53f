"""SOQL literal values: quoted strings with backslash escapes, date and datetime literals,
and relative date tokens (TODAY, LAST_N_DAYS:n, THIS_MONTH, ...).

Date tokens are ranges of whole UTC days [start, end); every user of the emulated org is on
GMT and weeks start on Sunday (en_US), so ranges depend only on the org clock's day.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

from ..values import parse_datetime

_SIMPLE_ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}
# Digits are capped at 9 fractional places; Salesforce ignores sub-second precision anyway.
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE
)


class LiteralError(ValueError):
    """A literal that cannot be read (the compiler turns it into a query error)."""


def decode_string(quoted: str) -> tuple[str, str]:
    """(value, LIKE pattern) of a single-quoted SOQL string.

    `\\%` and `\\_` mean a literal % or _ in a LIKE pattern; the pattern keeps them escaped
    (escape character backslash) while unescaped % and _ stay wildcards.
    """
    body = quoted[1:-1]
    value: list[str] = []
    pattern: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            value.append(char)
            pattern.append(char)
            index += 1
            continue
        if index + 1 >= len(body):
            raise LiteralError("Invalid string literal: trailing backslash")
        code = body[index + 1]
        index += 2
        if code in ("%", "_"):
            value.append(code)
            pattern.append("\\" + code)
        elif code == "u" or code == "U":
            digits = body[index : index + 4]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise LiteralError("Invalid unicode escape in string literal")
            decoded = chr(int(digits, 16))
            value.append(decoded)
            pattern.append(_like_escape(decoded))
            index += 4
        elif code in _SIMPLE_ESCAPES:
            decoded = _SIMPLE_ESCAPES[code]
            value.append(decoded)
            pattern.append(_like_escape(decoded))
        else:
            raise LiteralError(f"Invalid string literal: illegal escape sequence '\\{code}'")
    return _utf16("".join(value)), _utf16("".join(pattern))


def _utf16(text: str) -> str:
    """`text` with escaped surrogate pairs joined (`\\uD83D\\uDE00` is one emoji, as in Java)
    and a lone surrogate, which no UTF-8 text can hold, replaced by U+FFFD."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\")


def like_escape(text: str) -> str:
    """Text matched literally inside a LIKE pattern whose escape character is backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_datetime_literal(text: str) -> int:
    """Epoch seconds (UTC) of an unquoted datetime literal in any of the shapes clients send:
    `...Z`, `....000Z`, `....000000Z`, `....000+00:00`, `...-08:00`."""
    if not _DATETIME.match(text):
        raise LiteralError(f"invalid datetime: {text}")
    seconds = parse_datetime(text.upper())
    if seconds is None:
        raise LiteralError(f"invalid datetime: {text}")
    return seconds


def parse_date_literal(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise LiteralError(f"invalid date: {text}") from None


def day_start_epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# -- relative date tokens -------------------------------------------------------------------


def _week_start(day: date) -> date:
    # Sunday-based weeks: Monday is weekday() 0, Sunday 6.
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _year_start(day: date) -> date:
    return date(day.year, 1, 1)


DateRange = tuple[date, date]


def _fixed(today: date) -> dict[str, DateRange]:
    one = timedelta(days=1)
    week = _week_start(today)
    month = _month_start(today)
    quarter = _quarter_start(today)
    year = _year_start(today)
    ranges = {
        "YESTERDAY": (today - one, today),
        "TODAY": (today, today + one),
        "TOMORROW": (today + one, today + 2 * one),
        "LAST_WEEK": (week - 7 * one, week),
        "THIS_WEEK": (week, week + 7 * one),
        "NEXT_WEEK": (week + 7 * one, week + 14 * one),
        "LAST_MONTH": (_add_months(month, -1), month),
        "THIS_MONTH": (month, _add_months(month, 1)),
        "NEXT_MONTH": (_add_months(month, 1), _add_months(month, 2)),
        "LAST_90_DAYS": (today - 90 * one, today + one),
        "NEXT_90_DAYS": (today + one, today + 91 * one),
        "LAST_QUARTER": (_add_months(quarter, -3), quarter),
        "THIS_QUARTER": (quarter, _add_months(quarter, 3)),
        "NEXT_QUARTER": (_add_months(quarter, 3), _add_months(quarter, 6)),
        "LAST_YEAR": (_add_months(year, -12), year),
        "THIS_YEAR": (year, _add_months(year, 12)),
        "NEXT_YEAR": (_add_months(year, 12), _add_months(year, 24)),
    }
    # The org's fiscal year is the calendar year.
    for name in ("QUARTER", "YEAR"):
        for when in ("LAST", "THIS", "NEXT"):
            ranges[f"{when}_FISCAL_{name}"] = ranges[f"{when}_{name}"]
    return ranges


def _with_n(name: str, n: int, today: date) -> DateRange | None:
    one = timedelta(days=1)
    week = _week_start(today)
    month = _month_start(today)
    quarter = _quarter_start(today)
    year = _year_start(today)
    name = name.replace("_FISCAL_", "_")
    table: dict[str, DateRange] = {
        "LAST_N_DAYS": (today - n * one, today + one),
        "NEXT_N_DAYS": (today + one, today + (n + 1) * one),
        "N_DAYS_AGO": (today - n * one, today - (n - 1) * one),
        "LAST_N_WEEKS": (week - 7 * n * one, week),
        "NEXT_N_WEEKS": (week + 7 * one, week + 7 * (n + 1) * one),
        "N_WEEKS_AGO": (week - 7 * n * one, week - 7 * (n - 1) * one),
        "LAST_N_MONTHS": (_add_months(month, -n), month),
        "NEXT_N_MONTHS": (_add_months(month, 1), _add_months(month, n + 1)),
        "N_MONTHS_AGO": (_add_months(month, -n), _add_months(month, -n + 1)),
        "LAST_N_QUARTERS": (_add_months(quarter, -3 * n), quarter),
        "NEXT_N_QUARTERS": (_add_months(quarter, 3), _add_months(quarter, 3 * (n + 1))),
        "N_QUARTERS_AGO": (_add_months(quarter, -3 * n), _add_months(quarter, -3 * n + 3)),
        "LAST_N_YEARS": (_add_months(year, -12 * n), year),
        "NEXT_N_YEARS": (_add_months(year, 12), _add_months(year, 12 * (n + 1))),
        "N_YEARS_AGO": (_add_months(year, -12 * n), _add_months(year, -12 * n + 12)),
    }
    return table.get(name)


N_TOKENS = frozenset(
    {
        "LAST_N_DAYS",
        "NEXT_N_DAYS",
        "N_DAYS_AGO",
        "LAST_N_WEEKS",
        "NEXT_N_WEEKS",
        "N_WEEKS_AGO",
        "LAST_N_MONTHS",
        "NEXT_N_MONTHS",
        "N_MONTHS_AGO",
        "LAST_N_QUARTERS",
        "NEXT_N_QUARTERS",
        "N_QUARTERS_AGO",
        "LAST_N_YEARS",
        "NEXT_N_YEARS",
        "N_YEARS_AGO",
        "LAST_N_FISCAL_QUARTERS",
        "NEXT_N_FISCAL_QUARTERS",
        "N_FISCAL_QUARTERS_AGO",
        "LAST_N_FISCAL_YEARS",
        "NEXT_N_FISCAL_YEARS",
        "N_FISCAL_YEARS_AGO",
    }
)
FIXED_TOKENS = frozenset(_fixed(date(2000, 1, 1)))
# Salesforce caps n; a bound also keeps date arithmetic inside datetime's range.
_MAX_N = 1000 * 12


def is_date_token(name: str) -> bool:
    upper = name.upper()
    return upper in FIXED_TOKENS or upper in N_TOKENS


def date_token_range(name: str, arg: str | None, today: date) -> DateRange:
    """[start, end) of a date token relative to `today`; raises LiteralError if unknown."""
    upper = name.upper()
    if upper in FIXED_TOKENS:
        if arg is not None:
            raise LiteralError(f"Invalid date literal: {name}:{arg}")
        return _fixed(today)[upper]
    if upper in N_TOKENS:
        if arg is None or not arg.isdigit():
            raise LiteralError(f"Missing or invalid n for date literal {name}")
        n = int(arg)
        if n > _MAX_N:
            raise LiteralError(f"n for date literal {name} is out of range: {n}")
        try:
            found = _with_n(upper, n, today)
        except (OverflowError, ValueError):
            raise LiteralError(f"n for date literal {name} is out of range: {n}") from None
        if found is not None:
            return found
    raise LiteralError(f"Invalid date literal: {name}")
