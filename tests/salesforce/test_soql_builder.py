"""SOQL built by the connector: literals are always escaped, identifiers always checked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadsync.salesforce import soql


def unquote(literal: str) -> str:
    """Reverse of `soql.quote`, written independently: read escapes left to right."""
    assert literal[0] == literal[-1] == "'"
    body = literal[1:-1]
    table = {
        "\\": "\\",
        "'": "'",
        '"': '"',
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "b": "\b",
        "f": "\f",
        "%": "\\%",
        "_": "\\_",
    }
    out, index = [], 0
    while index < len(body):
        char = body[index]
        if char == "'":
            raise AssertionError(f"unescaped quote in {literal!r}")
        if char == "\\":
            out.append(table[body[index + 1]])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


@given(st.text())
def test_quoted_strings_round_trip_and_never_close_early(value: str) -> None:
    assert unquote(soql.quote(value)) == value


def test_injection_attempt_stays_inside_the_literal() -> None:
    statement = soql.select("Lead", ["Id"], where="Email = " + soql.quote("x' OR Name != '"))
    assert statement == "SELECT Id FROM Lead WHERE Email = 'x\\' OR Name != \\''"


def test_like_patterns_escape_wildcards() -> None:
    assert soql.quote_like("50%_off") == "'50\\%\\_off'"


@pytest.mark.parametrize("name", ["Id; DELETE", "Owner..Email", "1Lead", "Email'", "", "a b"])
def test_identifiers_are_refused_unless_api_names(name: str) -> None:
    with pytest.raises(ValueError):
        soql.identifier(name)


def test_datetime_literal_is_utc_whole_seconds() -> None:
    moment = datetime(2024, 5, 1, 14, 34, 56, 789000, tzinfo=timezone(timedelta(hours=2)))
    assert soql.datetime_literal(moment) == "2024-05-01T12:34:56Z"
    with pytest.raises(ValueError):
        soql.datetime_literal(datetime(2024, 5, 1))


def test_literals_of_each_type() -> None:
    assert soql.literal(None) == "null"
    assert soql.literal(True) == "true"
    assert soql.literal(42) == "42"
    assert soql.literal(date(2024, 5, 1)) == "2024-05-01"
    assert soql.literal(datetime(2024, 5, 1, tzinfo=UTC)) == "2024-05-01T00:00:00Z"
    assert soql.in_list(["a", "b'"]) == "('a', 'b\\'')"
    with pytest.raises(ValueError):
        soql.in_list([])


def test_order_by_direction_is_checked() -> None:
    assert soql.select("Lead", ["Id"], order_by=["SystemModstamp", "Id DESC"], limit=5) == (
        "SELECT Id FROM Lead ORDER BY SystemModstamp, Id DESC LIMIT 5"
    )
    with pytest.raises(ValueError):
        soql.select("Lead", ["Id"], order_by=["Id; DROP"])


def test_float_literals_are_plain_decimals() -> None:
    assert soql.literal(1e20) == "100000000000000000000"
    assert soql.literal(0.1) == "0.1"
    assert soql.literal(-2.5e-7) == "-0.00000025"
    for bad in (float("inf"), float("nan")):
        with pytest.raises(ValueError):
            soql.literal(bad)
