"""SOQL literals: string escapes, every datetime shape clients send, date tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadsync.emulator.org import Org
from leadsync.emulator.soql import literals
from tests.emulator.test_soql import MOMENT, column, failure, leads

# -- strings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quoted", "value", "pattern"),
    [
        ("'plain'", "plain", "plain"),
        (r"'O\'Brien'", "O'Brien", "O'Brien"),
        (r"'say \"hi\"'", 'say "hi"', 'say "hi"'),
        (r"'back\\slash'", "back\\slash", "back\\\\slash"),
        (r"'a\nb\tc\rd\be\ff'", "a\nb\tc\rd\be\ff", "a\nb\tc\rd\be\ff"),
        (r"'50\%\_off'", "50%_off", "50\\%\\_off"),
        ("'50%_off'", "50%_off", "50%_off"),
        (r"'\u00e9'", "é", "é"),
    ],
)
def test_string_literals_decode_escapes(quoted: str, value: str, pattern: str) -> None:
    assert literals.decode_string(quoted) == (value, pattern)


@pytest.mark.parametrize("quoted", [r"'bad \q escape'", "'trailing \\'"[:-1] + "'"])
def test_bad_escapes_are_rejected(quoted: str) -> None:
    with pytest.raises(literals.LiteralError):
        literals.decode_string(quoted)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:34:56Z",
        "2024-05-01T12:34:56.000Z",
        "2024-05-01T12:34:56.000000Z",
        "2024-05-01T12:34:56.000+00:00",
        "2024-05-01T14:34:56+02:00",
        "2024-05-01T04:34:56.000-08:00",
        "2024-05-01T04:34:56-0800",
    ],
)
def test_every_datetime_shape_means_the_same_instant(org: Org, text: str) -> None:
    assert literals.parse_datetime_literal(text) == MOMENT
    [hit] = leads(org, {"Email": "hit@x.org"}, now=MOMENT)
    leads(org, {"Email": "miss@x.org"}, now=MOMENT + 1)
    assert column(org, f"SELECT Id FROM Lead WHERE SystemModstamp = {text}", "Id") == [hit]
    later = column(org, f"SELECT Email FROM Lead WHERE CreatedDate > {text}", "Email")
    assert later == ["miss@x.org"]


def test_invalid_datetime_values_are_malformed(org: Org) -> None:
    error = failure(org, "SELECT Id FROM Lead WHERE CreatedDate > 2024-13-01T00:00:00Z")
    assert error.code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("token", "arg", "start", "end"),
    [
        ("TODAY", None, date(2024, 5, 15), date(2024, 5, 16)),
        ("yesterday", None, date(2024, 5, 14), date(2024, 5, 15)),
        ("TOMORROW", None, date(2024, 5, 16), date(2024, 5, 17)),
        ("LAST_N_DAYS", "3", date(2024, 5, 12), date(2024, 5, 16)),
        ("NEXT_N_DAYS", "2", date(2024, 5, 16), date(2024, 5, 18)),
        ("N_DAYS_AGO", "5", date(2024, 5, 10), date(2024, 5, 11)),
        ("THIS_WEEK", None, date(2024, 5, 12), date(2024, 5, 19)),  # Sunday-based
        ("LAST_WEEK", None, date(2024, 5, 5), date(2024, 5, 12)),
        ("THIS_MONTH", None, date(2024, 5, 1), date(2024, 6, 1)),
        ("LAST_MONTH", None, date(2024, 4, 1), date(2024, 5, 1)),
        ("NEXT_MONTH", None, date(2024, 6, 1), date(2024, 7, 1)),
        ("LAST_N_MONTHS", "2", date(2024, 3, 1), date(2024, 5, 1)),
        ("THIS_QUARTER", None, date(2024, 4, 1), date(2024, 7, 1)),
        ("LAST_QUARTER", None, date(2024, 1, 1), date(2024, 4, 1)),
        ("THIS_YEAR", None, date(2024, 1, 1), date(2025, 1, 1)),
        ("LAST_YEAR", None, date(2023, 1, 1), date(2024, 1, 1)),
        ("LAST_90_DAYS", None, date(2024, 2, 15), date(2024, 5, 16)),
        ("THIS_FISCAL_YEAR", None, date(2024, 1, 1), date(2025, 1, 1)),
    ],
)
def test_date_tokens(token: str, arg: str | None, start: date, end: date) -> None:
    assert literals.date_token_range(token, arg, date(2024, 5, 15)) == (start, end)


def test_last_month_in_january_wraps_the_year() -> None:
    assert literals.date_token_range("LAST_MONTH", None, date(2024, 1, 31)) == (
        date(2023, 12, 1),
        date(2024, 1, 1),
    )


@pytest.mark.parametrize(
    ("token", "arg"),
    [("LAST_N_DAYS", None), ("TODAY", "3"), ("LAST_N_YEARS", "99999"), ("SOMEDAY", None)],
)
def test_bad_date_tokens(token: str, arg: str | None) -> None:
    with pytest.raises(literals.LiteralError):
        literals.date_token_range(token, arg, date(2024, 5, 15))


def test_date_tokens_filter_datetime_and_date_fields(org: Org) -> None:
    today = datetime(2024, 5, 15, 9, 0, tzinfo=UTC)
    org.clock.freeze(today.timestamp())
    day = 86400
    now = int(today.timestamp())
    leads(org, {"Email": "today@x.org", "LastActivityDate": "2024-05-15"}, now=now)
    leads(org, {"Email": "yesterday@x.org", "LastActivityDate": "2024-05-14"}, now=now - day)
    leads(org, {"Email": "old@x.org", "LastActivityDate": "2024-01-02"}, now=now - 100 * day)

    def emails(where: str) -> list[str]:
        return sorted(column(org, f"SELECT Email FROM Lead WHERE {where}", "Email"))

    assert emails("CreatedDate = TODAY") == ["today@x.org"]
    assert emails("CreatedDate = LAST_N_DAYS:1") == ["today@x.org", "yesterday@x.org"]
    assert emails("CreatedDate < TODAY") == ["old@x.org", "yesterday@x.org"]
    assert emails("CreatedDate != YESTERDAY") == ["old@x.org", "today@x.org"]
    assert emails("LastActivityDate = YESTERDAY") == ["yesterday@x.org"]
    assert emails("LastActivityDate >= THIS_MONTH") == ["today@x.org", "yesterday@x.org"]
    assert emails("LastActivityDate IN (TODAY, 2024-01-02)") == ["old@x.org", "today@x.org"]
    assert emails("LastActivityDate < 2024-05-01") == ["old@x.org"]
