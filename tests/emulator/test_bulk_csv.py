"""The Bulk CSV fast path (SQLite renders the cells) gives the general path's bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.emulator import bulk_csv, values
from leadsync.emulator.dml import system_insert
from leadsync.emulator.org import Org
from leadsync.emulator.query import CompiledQuery, compile_query

SYNC = "Marketing Sync User"
MOMENT = int(datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC).timestamp())
# Every storage type Lead has: ids, text, picklists, booleans, int, currency, double,
# datetimes and dates, plus a parent's field through a join.
FIELDS = (
    "Id, IsDeleted, SystemModstamp, CreatedDate, FirstName, LastName, Company, Description, "
    "Email, Status, IsConverted, ConvertedDate, DoNotCall, AnnualRevenue, NumberOfEmployees, "
    "Lead_Score__c, Owner.Email"
)
SOQL = f"SELECT {FIELDS} FROM Lead ORDER BY SystemModstamp, Id"
ODD_TEXTS = [
    'Say "hi"',
    "a,b;c|d^e`f\tg",
    "two\nlines\r\nand a\rreturn",
    '""',
    "",
    "\x1f",  # the cell separator
    "\x1e",  # the line separator
    "\x1a",  # the mark of a cell SQLite could not render
    "(NULL)",
    "ünïcödé ✓ 𝄞",
]
NUMBERS = [0.0, -0.0, 1500.0, -2.5, 0.1 + 0.2, 1e17, 123456789012.5, 1e-7, None]
# Stored as is (raw SQL): values no API write produces, each the general path converts.
ODD_STORAGE: list[tuple[str, Any]] = [
    ("SystemModstamp", -30610224001),  # 0999-12-31T23:59:59Z, before the SQL-rendered years
    ("SystemModstamp", -30610224000),
    ("SystemModstamp", 253402300799),
    ("CreatedDate", 1.5),
    ("DoNotCall", 2),
    ("DoNotCall", -1),
    ("DoNotCall", 0.0),
    ("DoNotCall", "yes"),
    ("DoNotCall", ""),
    ("AnnualRevenue", 9.3e18),
    ("AnnualRevenue", 4.0e20),
    ("AnnualRevenue", float("inf")),
    ("NumberOfEmployees", 2.5),
    ("NumberOfEmployees", -7),
]


@pytest.fixture(autouse=True)
def no_nul_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The NUL flag is process-wide: another test's org must not turn the fast path off here."""
    monkeypatch.setattr(values, "_stored_nul", [False])


def compiled(org: Org, soql: str = SOQL) -> CompiledQuery:
    return compile_query(org, org.definition.profiles[SYNC], soql, include_deleted=True)


def add_leads(org: Org) -> None:
    rows: list[dict[str, Any]] = []
    for n, text in enumerate(ODD_TEXTS):
        rows.append({"FirstName": text, "Description": text, "Company": f"C{n}"})
    for n, number in enumerate(NUMBERS):
        rows.append({"AnnualRevenue": number, "Lead_Score__c": number, "Company": f"N{n}"})
    rows.append({"DoNotCall": 1, "NumberOfEmployees": 12, "Email": None, "Company": "B"})
    for row in rows:
        system_insert(org, "Lead", [{"LastName": "L", **row}], now=MOMENT)
    odd = system_insert(
        org, "Lead", [{"LastName": "Odd", "Company": f"O{n}"} for n in range(len(ODD_STORAGE))]
    )
    with org.store.write() as conn:
        for record_id, (name, value) in zip(odd, ODD_STORAGE, strict=True):
            conn.execute(f'UPDATE "Lead" SET "{name}" = ? WHERE "Id" = ?', (value, record_id))


def general(query: CompiledQuery, org: Org, delimiter: str, line_ending: str, size: int) -> str:
    chunks = bulk_csv._general_chunks(query, org.store.reader(), delimiter, line_ending, size)
    return "".join(text for _, text in chunks)


def fast(
    query: CompiledQuery, org: Org, delimiter: str, line_ending: str, size: int
) -> list[tuple[int, str]]:
    assert bulk_csv._renders_in_sql(query)
    return list(bulk_csv.csv_chunks(query, org.store.reader(), delimiter, line_ending, size))


@pytest.mark.parametrize(("delimiter", "line_ending"), [(",", "\n"), (";", "\r\n"), ("\t", "\n")])
@pytest.mark.parametrize("size", [1, 4, 2000])
def test_the_fast_path_writes_the_general_paths_bytes(
    org: Org, delimiter: str, line_ending: str, size: int
) -> None:
    add_leads(org)
    query = compiled(org)
    expected = general(query, org, delimiter, line_ending, size)
    chunks = fast(query, org, delimiter, line_ending, size)
    assert "".join(text for _, text in chunks) == expected
    total = sum(count for count, _ in chunks)
    assert total == query.count(org.store.reader()) > len(ODD_TEXTS) + len(NUMBERS)
    assert all(count == size for count, _ in chunks[:-1])
    # The odd values really are in there, quoted as the csv module quotes them.
    assert f'"Say ""hi"""{delimiter}' in expected
    assert '"two\nlines\r\nand a\rreturn"' in expected
    assert f'"0.30000000000000004"{delimiter}' in expected
    assert f'"100000000000000000"{delimiter}' in expected
    assert '"0999-12-31T23:59:59.000Z"' not in expected  # glibc writes year 999 unpadded


def test_every_chunk_of_plain_rows_is_rendered_by_sql(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_insert(
        org,
        "Lead",
        [{"LastName": f"L{n}", "Company": "C", "AnnualRevenue": 10.0 * n} for n in range(9)],
        now=MOMENT,
    )
    slow: list[int] = []
    real_slow_chunk = bulk_csv._FastRenderer._slow_chunk

    def counting(renderer: Any, rows: Any) -> str:
        slow.append(len(rows))
        return real_slow_chunk(renderer, rows)

    monkeypatch.setattr(bulk_csv._FastRenderer, "_slow_chunk", counting)
    query = compiled(org)
    assert fast(query, org, ",", "\n", 3) and not slow
    fast_text = "".join(t for _, t in bulk_csv.csv_chunks(query, org.store.reader(), ",", "\n", 3))
    assert fast_text == general(query, org, ",", "\n", 3)
    add_leads(org)
    assert "".join(text for _, text in fast(query, org, ",", "\n", 3)) == general(
        query, org, ",", "\n", 3
    )
    assert slow  # odd values went the slow way


def test_text_with_nul_turns_the_fast_path_off(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(values, "_stored_nul", [False])
    query = compiled(org)
    assert bulk_csv._renders_in_sql(query)
    definition = org.schema.get("Lead").field("Description")
    assert definition is not None
    assert values.to_db(definition, "a\x00b") == "a\x00b"
    assert not bulk_csv._renders_in_sql(query)


def test_queries_sql_cannot_render_take_the_general_path(org: Org) -> None:
    add_leads(org)
    query = compile_query(
        org,
        org.definition.profiles[SYNC],
        "SELECT Id, (SELECT Id FROM Tasks) FROM Lead",
        include_deleted=False,
    )
    assert not bulk_csv._renders_in_sql(query)


def test_an_org_file_from_before_turns_the_fast_path_off(tmp_path: Any) -> None:
    # Text with NUL written by an earlier process cannot be ruled out without reading it all.
    path = str(tmp_path / "org.db")
    first = Org(db_path=path)
    add_leads(first)
    assert bulk_csv._renders_in_sql(compiled(first))
    first.close()
    again = Org(db_path=path)
    try:
        assert not bulk_csv._renders_in_sql(compiled(again))
    finally:
        again.close()
