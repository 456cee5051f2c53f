"""Decoding rows: REST JSON and Bulk CSV text alike; bad values are reported, not fatal."""

from __future__ import annotations

import datetime as dt

import pytest

from leadsync.db import FieldMapping
from leadsync.salesforce.describe import FieldInfo
from leadsync.sync.objects import LEAD, plan
from leadsync.sync.records import RowDecoder, decode


def info(name: str, type_: str, *, custom: bool = False) -> FieldInfo:
    return FieldInfo.from_describe({"name": name, "type": type_, "custom": custom})


VISIBLE = {
    f.name: f
    for f in (
        info("Id", "id"),
        info("IsDeleted", "boolean"),
        info("SystemModstamp", "datetime"),
        info("IsConverted", "boolean"),
        info("Email", "email"),
        info("NumberOfEmployees", "int"),
        info("HasOptedOutOfEmail", "boolean"),
        info("Renewal__c", "date", custom=True),
        info("Rating", "picklist"),  # a standard field leadsync leaves out
    )
}


def test_plan_reads_mapped_and_custom_fields_only() -> None:
    read = plan(LEAD, VISIBLE, FieldMapping())
    assert "Rating" not in read.select
    assert {"Id", "SystemModstamp", "Email", "Renewal__c"} <= set(read.select)


def test_bulk_text_is_decoded_by_describe_type() -> None:
    read = plan(LEAD, VISIBLE, FieldMapping())
    row = {
        "Id": "00Q000000000001AAA",
        "IsDeleted": "false",
        "SystemModstamp": "2026-01-02T03:04:05.000Z",
        "IsConverted": "true",
        "Email": "",
        "NumberOfEmployees": "250.0",
        "HasOptedOutOfEmail": "true",
        "Renewal__c": "2026-05-01",
    }
    record = decode(read, row)
    assert record.modstamp == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert record.deleted is False and record.sync["IsConverted"] is True
    assert record.values == {
        "Email": None,
        "NumberOfEmployees": 250,
        "HasOptedOutOfEmail": True,
        "Renewal__c": "2026-05-01",
    }


def test_a_bad_value_is_left_out_and_reported() -> None:
    read = plan(LEAD, VISIBLE, FieldMapping())
    row = {
        "Id": "00Q000000000001AAA",
        "SystemModstamp": "2026-01-02T03:04:05.000+0000",
        "Email": "not an email",
        "Renewal__c": "2026-13-45",
    }
    record = decode(read, row)
    assert set(record.problems) == {"Email", "Renewal__c"}
    assert "Email" not in record.values and "Renewal__c" not in record.values


def bulk_row(read_header: list[str], cells: dict[str, str]) -> list[str]:
    return [cells.get(name, "") for name in read_header]


def test_bulk_rows_decode_by_position_as_dictionaries_do() -> None:
    read = plan(LEAD, VISIBLE, FieldMapping())
    header = list(reversed(read.select))  # any column order: decoded by the header
    cells = {
        "Id": "00Q000000000001AAA",
        "IsDeleted": "true",
        "SystemModstamp": "2026-01-02T03:04:05.000Z",
        "IsConverted": "false",
        "Email": "ada@example.com",
        "NumberOfEmployees": "250.0",
        "HasOptedOutOfEmail": "false",
        "Renewal__c": "",
    }
    row = bulk_row(header, cells)
    by_position = RowDecoder(read, header).decode(row)
    by_name = decode(read, {name: (cell or None) for name, cell in zip(header, row, strict=True)})
    assert by_position == by_name
    assert by_position.deleted is True and by_position.sync["IsConverted"] is False
    assert by_position.values == {
        "Email": "ada@example.com",
        "NumberOfEmployees": 250,
        "HasOptedOutOfEmail": False,
        "Renewal__c": None,
    }


@pytest.mark.parametrize(
    ("field", "cell"),
    [
        ("Email", "not an email"),
        ("Email", "ada@example.com\n"),
        ("NumberOfEmployees", "many"),
        ("NumberOfEmployees", "2.5"),
        ("HasOptedOutOfEmail", "perhaps"),
        ("Renewal__c", "2026-13-45"),
    ],
)
def test_bulk_bad_cells_are_reported_as_dictionaries_are(field: str, cell: str) -> None:
    read = plan(LEAD, VISIBLE, FieldMapping())
    header = list(read.select)
    cells = {"Id": "00Q000000000001AAA", "SystemModstamp": "2026-01-02T03:04:05.000Z"}
    row = bulk_row(header, {**cells, field: cell})
    by_position = RowDecoder(read, header).decode(row)
    by_name = decode(read, {name: (c or None) for name, c in zip(header, row, strict=True)})
    assert by_position == by_name
    if field != "Email" or cell.strip() == cell:
        assert field in by_position.problems and field not in by_position.values
    else:
        assert by_position.values[field] == cell.strip()  # surrounding spaces trimmed


@pytest.mark.parametrize(("cell", "value"), [("TRUE", True), ("1", True), ("no", False)])
def test_bulk_boolean_spellings_coerce_accepts_are_accepted(cell: str, value: bool) -> None:
    read = plan(LEAD, VISIBLE, FieldMapping())
    header = list(read.select)
    cells = {"Id": "00Q000000000001AAA", "SystemModstamp": "2026-01-02T03:04:05.000Z"}
    record = RowDecoder(read, header).decode(
        bulk_row(header, {**cells, "HasOptedOutOfEmail": cell})
    )
    assert record.values["HasOptedOutOfEmail"] is value
