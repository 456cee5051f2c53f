"""Decoding rows: REST JSON and Bulk CSV text alike; bad values are reported, not fatal."""

from __future__ import annotations

import datetime as dt

from leadsync.db import FieldMapping
from leadsync.salesforce.describe import FieldInfo
from leadsync.sync.objects import LEAD, plan
from leadsync.sync.records import decode


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
