"""SOQL parsing and compilation: literals, operators, relationships, aggregates, FLS, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadsync.emulator.dml import system_insert
from leadsync.emulator.errors import QueryError
from leadsync.emulator.ids import normalize_id
from leadsync.emulator.org import Org
from leadsync.emulator.query import CompiledQuery, compile_query
from leadsync.emulator.schema import FieldDef
from leadsync.emulator.soql.parser import parse

SYNC = "Marketing Sync User"
ADMIN = "System Administrator"
MOMENT = int(datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC).timestamp())


def compiled(org: Org, soql: str, *, deleted: bool = False, profile: str = SYNC) -> CompiledQuery:
    return compile_query(org, org.definition.profiles[profile], soql, include_deleted=deleted)


def rows(org: Org, soql: str, **kw: Any) -> list[dict[str, Any]]:
    return list(compiled(org, soql, **kw).iter_json_records(org.store.reader(), "62.0"))


def column(org: Org, soql: str, name: str, **kw: Any) -> list[Any]:
    return [r[name] for r in rows(org, soql, **kw)]


def failure(org: Org, soql: str, **kw: Any) -> QueryError:
    with pytest.raises(QueryError) as caught:
        compiled(org, soql, **kw)
    return caught.value


def leads(org: Org, *specs: dict[str, Any], now: int | None = None) -> list[str]:
    full = [{"LastName": "L", "Company": "C", **spec} for spec in specs]
    ids = []
    for row in full:  # one at a time: rows may have different key sets
        ids += system_insert(org, "Lead", [row], now=now)
    return ids


# -- parsing ---------------------------------------------------------------------------------


def test_parser_builds_a_typed_tree() -> None:
    query = parse(
        "select Id, owner.name, COUNT(Id) total from lead where (a = 1 or b != null) "
        "and not c in ('x') order by Name desc nulls last limit 5 offset 2"
    )
    assert query.object_name == "lead"
    assert [getattr(item, "parts", None) for item in query.select[:2]] == [
        ("Id",),
        ("owner", "name"),
    ]
    assert query.order_by[0].descending and query.order_by[0].nulls_last
    assert query.limit is not None and query.limit.text == "5"
    assert query.offset is not None and query.offset.text == "2"


def test_odd_whitespace_is_tolerated(org: Org) -> None:
    [lead_id] = leads(org, {"Email": "ws@x.org"})
    soql = "SELECT\tId ,  Email\nFROM   Lead\r\n WHERE  Email =  'ws@x.org'  ORDER BY  Id  ASC"
    assert column(org, soql, "Id") == [lead_id]


def test_identifiers_are_case_insensitive_and_output_canonical(org: Org) -> None:
    leads(org, {"Email": "Case@X.org", "FirstName": "Ann"})
    [record] = rows(
        org, "select ID, eMaIl, firstname, OWNER.USERNAME from LEAD where EMAIL = 'case@x.ORG'"
    )
    assert list(record) == ["attributes", "Id", "Email", "FirstName", "Owner"]
    assert record["Owner"]["Username"] == "admin@example.com"
    assert record["attributes"]["type"] == "Lead"


def test_object_name_prefix_on_fields_is_accepted(org: Org) -> None:
    leads(org, {"Email": "p@x.org"})
    assert column(org, "SELECT Lead.Email FROM Lead", "Email") == ["p@x.org"]


# -- values and operators ----------------------------------------------------------------------


@pytest.fixture
def people(org: Org) -> dict[str, str]:
    specs = {
        "ann": {
            "FirstName": "Ann",
            "Email": "ann@x.org",
            "NumberOfEmployees": 10,
            "AnnualRevenue": 100.5,
            "DoNotCall": 1,
            "LeadSource": "Web",
        },
        "bob": {
            "FirstName": "bob",
            "Email": "bob@y.org",
            "NumberOfEmployees": 20,
            "AnnualRevenue": 2000.0,
            "LeadSource": "Web",
        },
        "cy": {"FirstName": "Cy", "Email": None, "NumberOfEmployees": None, "LeadSource": "Other"},
        "di": {"FirstName": "di_%", "Email": "di@x.org", "NumberOfEmployees": 30},
    }
    return {key: leads(org, spec)[0] for key, spec in specs.items()}


def names(org: Org, where: str) -> list[str]:
    return sorted(
        column(org, f"SELECT FirstName FROM Lead WHERE {where}", "FirstName"), key=str.lower
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Email = 'ANN@x.org'", ["Ann"]),
        ("Email != 'ann@x.org'", ["bob", "Cy", "di_%"]),
        ("Email <> 'ann@x.org'", ["bob", "Cy", "di_%"]),
        ("NOT Email = 'ann@x.org'", ["bob", "Cy", "di_%"]),
        ("Email = null", ["Cy"]),
        ("Email != null", ["Ann", "bob", "di_%"]),
        ("NumberOfEmployees < 20", ["Ann"]),
        ("NumberOfEmployees <= 20", ["Ann", "bob"]),
        ("NumberOfEmployees > 10", ["bob", "di_%"]),
        ("NumberOfEmployees >= 10", ["Ann", "bob", "di_%"]),
        ("NOT NumberOfEmployees > 10", ["Ann", "Cy"]),
        ("AnnualRevenue > 100.25", ["Ann", "bob"]),
        ("DoNotCall = true", ["Ann"]),
        ("DoNotCall = FALSE", ["bob", "Cy", "di_%"]),
        ("Email LIKE '%@X.ORG'", ["Ann", "di_%"]),
        ("FirstName LIKE 'b_b'", ["bob"]),
        ("FirstName LIKE 'di\\_\\%'", ["di_%"]),
        ("FirstName LIKE 'di\\_'", []),
        ("Email IN ('ann@x.org', 'BOB@y.org')", ["Ann", "bob"]),
        ("Email NOT IN ('ann@x.org')", ["bob", "Cy", "di_%"]),
        ("Email IN ('ann@x.org', null)", ["Ann", "Cy"]),
        ("(LeadSource = 'Web' AND NumberOfEmployees > 10) OR Email = null", ["bob", "Cy"]),
        ("LeadSource = 'Web' AND (NumberOfEmployees > 10 OR Email = null)", ["bob"]),
        ("NOT (LeadSource = 'Web' OR LeadSource = 'Other')", ["di_%"]),
    ],
)
def test_where_operators(org: Org, people: dict[str, str], where: str, expected: list[str]) -> None:
    assert names(org, where) == expected


def test_ids_match_in_15_and_18_character_forms(org: Org, people: dict[str, str]) -> None:
    ann = people["ann"]
    assert names(org, f"Id = '{ann[:15]}'") == ["Ann"]
    assert names(org, f"Id = '{ann.lower()}'") == ["Ann"]
    assert names(org, f"Id IN ('{ann[:15]}', '{people['bob']}')") == ["Ann", "bob"]
    assert normalize_id(ann[:15]) == ann


def test_invalid_id_literal_is_a_filter_error(org: Org) -> None:
    assert failure(org, "SELECT Id FROM Lead WHERE Id = 'nope'").code == (
        "INVALID_QUERY_FILTER_OPERATOR"
    )


def test_mixing_and_or_without_parentheses_is_malformed(org: Org) -> None:
    error = failure(org, "SELECT Id FROM Lead WHERE Email = 'a' AND Phone = 'b' OR Title = 'c'")
    assert error.code == "MALFORMED_QUERY"
    assert "unexpected token: 'OR'" in error.message


def test_includes_and_excludes_on_multipicklists(org: Org) -> None:
    lead = org.schema.get("Lead")
    assert lead is not None
    lead.add(FieldDef("Interests__c", "multipicklist", custom=True, length=4099))
    org.store.sync_tables()
    leads(
        org,
        {"FirstName": "A", "Interests__c": "Golf;Tennis"},
        {"FirstName": "B", "Interests__c": "Tennis"},
        {"FirstName": "C", "Interests__c": None},
        {"FirstName": "D", "Interests__c": "Golfing"},
    )
    assert names(org, "Interests__c INCLUDES ('golf')") == ["A"]
    assert names(org, "Interests__c INCLUDES ('Golf;Tennis', 'Golfing')") == ["A", "D"]
    assert names(org, "Interests__c EXCLUDES ('Tennis')") == ["C", "D"]
    assert failure(org, "SELECT Id FROM Lead WHERE Email INCLUDES ('a')").code == "INVALID_FIELD"


@pytest.mark.parametrize(
    "value",
    [
        "x' OR '1'='1",
        '\'; DROP TABLE "Lead"; --',
        'back\\slash " quote',
        "%",
        '" OR 1=1 --',
    ],
)
def test_string_values_are_matched_literally(org: Org, value: str) -> None:
    [target] = leads(org, {"FirstName": value})
    leads(org, {"FirstName": "other"})
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    assert column(org, f"SELECT Id FROM Lead WHERE FirstName = '{escaped}'", "Id") == [target]
    like = escaped.replace("%", "\\%")
    assert column(org, f"SELECT Id FROM Lead WHERE FirstName LIKE '{like}'", "Id") == [target]
    assert len(rows(org, "SELECT Id FROM Lead")) == 2  # the table is intact


def test_sql_text_never_contains_values(org: Org) -> None:
    query = compiled(
        org,
        "SELECT Id FROM Lead WHERE Email = 'x@y.z' AND NumberOfEmployees > 42 "
        "AND CreatedDate > 2024-05-01T00:00:00Z LIMIT 7",
    )
    assert "x@y.z" not in query.sql and "42" not in query.sql and "7" not in query.sql
    assert query.plan.select.params.count("x@y.z") == 1


# -- typing errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "field", "kind"),
    [
        ("CreatedDate > '2024-05-01T00:00:00Z'", "CreatedDate", "dateTime"),
        ("SystemModstamp >= 2024-05-01", "SystemModstamp", "dateTime"),
        ("DoNotCall = 'true'", "DoNotCall", "boolean"),
        ("NumberOfEmployees = '5'", "NumberOfEmployees", "double"),
        ("LastActivityDate = '2024-05-01'", "LastActivityDate", "date"),
    ],
)
def test_wrongly_typed_values(org: Org, where: str, field: str, kind: str) -> None:
    error = failure(org, f"SELECT Id FROM Lead WHERE {where}")
    assert error.code == "INVALID_FIELD"
    assert (
        f"value of filter criterion for field '{field}' must be of type {kind} and should "
        "not be enclosed in quotes"
    ) in error.message


def test_unquoted_value_for_text_field(org: Org) -> None:
    error = failure(org, "SELECT Id FROM Lead WHERE Email = 5")
    assert "must be of type string and should be enclosed in quotes" in error.message


def test_long_text_cannot_be_filtered_or_sorted(org: Org) -> None:
    assert (
        "can not be filtered" in failure(org, "SELECT Id FROM Lead WHERE Description = 'x'").message
    )
    assert "can not be sorted" in failure(org, "SELECT Id FROM Lead ORDER BY Description").message


# -- ordering and limits -----------------------------------------------------------------------


def test_nulls_sort_first_by_default_in_both_directions(org: Org) -> None:
    leads(org, {"FirstName": "b"}, {"FirstName": None}, {"FirstName": "A"}, {"FirstName": "c"})

    def order(clause: str) -> list[Any]:
        return column(org, f"SELECT FirstName FROM Lead ORDER BY {clause}", "FirstName")

    assert order("FirstName") == [None, "A", "b", "c"]
    assert order("FirstName ASC") == [None, "A", "b", "c"]
    assert order("FirstName DESC") == [None, "c", "b", "A"]
    assert order("FirstName ASC NULLS LAST") == ["A", "b", "c", None]
    assert order("FirstName DESC NULLS LAST") == ["c", "b", "A", None]
    assert order("FirstName DESC NULLS FIRST") == [None, "c", "b", "A"]


def test_limit_and_offset(org: Org) -> None:
    leads(org, *({"FirstName": f"n{i}"} for i in range(6)))
    soql = "SELECT FirstName FROM Lead ORDER BY FirstName LIMIT 2 OFFSET 3"
    assert column(org, soql, "FirstName") == ["n3", "n4"]
    assert compiled(org, soql).count(org.store.reader()) == 2
    assert column(org, "SELECT FirstName FROM Lead ORDER BY FirstName OFFSET 5", "FirstName") == [
        "n5"
    ]
    assert failure(org, "SELECT Id FROM Lead OFFSET 2001").code == "NUMBER_OUTSIDE_VALID_RANGE"


# -- relationships and compound fields ---------------------------------------------------------


def test_polymorphic_owner_reads_users_and_queues(org: Org) -> None:
    queue = org.store.reader().execute('SELECT "Id" FROM "Group"').fetchone()[0]
    leads(org, {"FirstName": "Mine"}, {"FirstName": "Queued", "OwnerId": queue})
    records = rows(org, "SELECT FirstName, Owner.Name, Owner.Email FROM Lead ORDER BY FirstName")
    mine, queued = records
    assert mine["Owner"]["Name"] == "Ada Admin"
    assert mine["Owner"]["attributes"]["type"] == "Name"
    assert "/sobjects/User/" in mine["Owner"]["attributes"]["url"]
    assert queued["Owner"]["Name"] == "Inbound Leads"
    assert queued["Owner"]["attributes"]["url"].endswith(f"/sobjects/Group/{queue}")
    assert names(org, "Owner.Name = 'inbound leads'") == ["Queued"]


def test_parent_paths_up_to_five_levels(org: Org) -> None:
    ids = system_insert(org, "Account", [{"Name": "Top"}])
    for level in range(4):
        ids += system_insert(org, "Account", [{"Name": f"A{level}", "ParentId": ids[-1]}])
    system_insert(
        org, "Contact", [{"LastName": "Deep", "AccountId": ids[-1]}, {"LastName": "Orphan"}]
    )
    soql = (
        "SELECT LastName, Account.Name, Account.Owner.Email, "
        "Account.Parent.Parent.Parent.Parent.Name FROM Contact ORDER BY LastName"
    )
    deep, orphan = rows(org, soql)
    assert deep["Account"]["Name"] == "A3"
    assert deep["Account"]["Owner"]["Email"] == "admin@example.com"
    assert deep["Account"]["Owner"]["attributes"]["type"] == "User"
    assert deep["Account"]["Parent"]["Parent"]["Parent"]["Parent"]["Name"] == "Top"
    assert orphan["Account"] is None
    error = failure(org, "SELECT Account.Parent.Parent.Parent.Parent.Parent.Name FROM Contact")
    assert error.code == "INVALID_FIELD"
    assert column(
        org, "SELECT LastName FROM Contact WHERE Account.Parent.Name = 'A2'", "LastName"
    ) == ["Deep"]


def test_unknown_relationship(org: Org) -> None:
    error = failure(org, "SELECT Boss.Name FROM Lead")
    assert error.code == "INVALID_FIELD"
    assert "Didn't understand relationship 'Boss'" in error.message


def test_compound_address_is_a_nested_object(org: Org) -> None:
    leads(
        org,
        {"FirstName": "A", "City": "Paris", "Street": "1 Rue", "Latitude": 48.85},
        {"FirstName": "B"},
    )
    query = compiled(org, "SELECT FirstName, Address FROM Lead ORDER BY FirstName")
    assert query.uses_compound_fields
    first, second = query.iter_json_records(org.store.reader(), "62.0")
    assert first["Address"] == {
        "city": "Paris",
        "country": None,
        "geocodeAccuracy": None,
        "latitude": 48.85,
        "longitude": None,
        "postalCode": None,
        "state": None,
        "street": "1 Rue",
    }
    assert second["Address"] is None
    system_insert(org, "Contact", [{"LastName": "C", "MailingCity": "Oslo"}])
    [contact] = rows(org, "SELECT MailingAddress FROM Contact")
    assert contact["MailingAddress"]["city"] == "Oslo"
    assert not compiled(org, "SELECT City FROM Lead").uses_compound_fields


def test_every_selected_field_is_present_and_typed(org: Org) -> None:
    leads(org, {"FirstName": "A", "DoNotCall": 1, "NumberOfEmployees": 3}, now=MOMENT)
    [record] = rows(
        org,
        "SELECT Id, Email, DoNotCall, IsDeleted, NumberOfEmployees, "
        "CreatedDate, ConvertedDate FROM Lead",
    )
    assert record["Email"] is None and record["ConvertedDate"] is None
    assert record["DoNotCall"] is True and record["IsDeleted"] is False
    assert record["NumberOfEmployees"] == 3
    assert record["CreatedDate"] == "2024-05-01T12:34:56.000+0000"
    assert record["attributes"]["url"] == f"/services/data/v62.0/sobjects/Lead/{record['Id']}"


def test_duplicate_fields_are_refused(org: Org) -> None:
    assert "duplicate field selected" in failure(org, "SELECT Id, id FROM Lead").message


# -- aggregates ------------------------------------------------------------------------------


def test_count_only(org: Org, people: dict[str, str]) -> None:
    query = compiled(org, "SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'")
    assert query.count_only
    assert query.count(org.store.reader()) == 2
    assert list(query.iter_json_records(org.store.reader(), "62.0")) == []


def test_aggregates_with_group_by_and_aliases(org: Org, people: dict[str, str]) -> None:
    records = rows(
        org,
        "SELECT LeadSource, COUNT(Id) total, MAX(NumberOfEmployees), "
        "SUM(AnnualRevenue), AVG(NumberOfEmployees), MIN(CreatedDate) FROM Lead "
        "GROUP BY LeadSource ORDER BY LeadSource NULLS LAST",
    )
    web = records[1]
    assert records[0]["LeadSource"] == "Other"
    assert records[2]["LeadSource"] is None
    assert web["attributes"] == {"type": "AggregateResult"}
    assert web["total"] == 2 and web["expr0"] == 20
    assert web["expr1"] == pytest.approx(2100.5) and web["expr2"] == pytest.approx(15)
    assert web["expr3"].endswith(".000+0000")


def test_aggregate_without_group_by_and_having(org: Org, people: dict[str, str]) -> None:
    [record] = rows(org, "SELECT COUNT(Id), COUNT(Email) FROM Lead")
    assert (record["expr0"], record["expr1"]) == (4, 3)
    grouped = rows(
        org, "SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource HAVING COUNT(Id) > 1"
    )
    assert [r["LeadSource"] for r in grouped] == ["Web"]


def test_aggregate_errors(org: Org) -> None:
    error = failure(org, "SELECT Email, COUNT(Id) FROM Lead")
    assert "Field must be grouped or aggregated: Email" in error.message
    assert failure(org, "SELECT SUM(Email) FROM Lead").code == "INVALID_FIELD"
    assert failure(org, "SELECT COUNT(Id) FROM Lead GROUP BY CreatedDate").code == ("INVALID_FIELD")
    assert failure(org, "SELECT Id, COUNT() FROM Lead").code == "MALFORMED_QUERY"


# -- semi-joins, deleted rows, FLS ---------------------------------------------------------------


def test_semi_join(org: Org, people: dict[str, str]) -> None:
    [campaign] = system_insert(org, "Campaign", [{"Name": "Spring"}])
    system_insert(org, "CampaignMember", [{"CampaignId": campaign, "LeadId": people["bob"]}])
    inner = "SELECT LeadId FROM CampaignMember WHERE Campaign.Name = 'Spring'"
    assert names(org, f"Id IN ({inner})") == ["bob"]
    assert names(org, f"Id NOT IN ({inner})") == ["Ann", "Cy", "di_%"]


def test_deleted_rows_only_with_include_deleted(org: Org) -> None:
    leads(org, {"FirstName": "live"})
    [gone] = leads(org, {"FirstName": "gone"})
    with org.store.write() as conn:
        conn.execute('UPDATE "Lead" SET "IsDeleted" = 1 WHERE "Id" = ?', (gone,))
    assert names(org, "IsDeleted = true") == []
    assert column(org, "SELECT Id FROM Lead WHERE IsDeleted = true", "Id", deleted=True) == [gone]
    assert len(rows(org, "SELECT Id FROM Lead", deleted=True)) == 2


def test_field_level_security_hides_fields(org: Org) -> None:
    leads(org, {"FirstName": "A", "Internal_Notes__c": "secret"})
    for soql in (
        "SELECT Internal_Notes__c FROM Lead",
        "SELECT Id FROM Lead WHERE Internal_Notes__c = 'secret'",
        "SELECT Id FROM Lead ORDER BY Internal_Notes__c",
    ):
        error = failure(org, soql)
        assert error.code == "INVALID_FIELD"
        assert "No such column 'Internal_Notes__c' on entity 'Lead'" in error.message
    assert column(
        org, "SELECT Internal_Notes__c FROM Lead", "Internal_Notes__c", profile=ADMIN
    ) == ["secret"]


def test_hidden_object_is_invalid_type(org: Org) -> None:
    profile = org.definition.profiles[SYNC]
    hidden = type(profile)(profile.name, hidden_objects=frozenset({"campaign"}))
    with pytest.raises(QueryError) as caught:
        compile_query(org, hidden, "SELECT Id FROM Campaign", include_deleted=False)
    assert caught.value.code == "INVALID_TYPE"


# -- error messages ----------------------------------------------------------------------------


def test_invalid_field_message_has_excerpt_caret_and_position(org: Org) -> None:
    error = failure(org, "SELECT Id, Foo FROM Lead")
    assert error.code == "INVALID_FIELD" and error.status == 400
    assert error.message == (
        "\nSELECT Id, Foo FROM Lead\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo' on entity 'Lead'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL "
        "or the describe call for the appropriate names."
    )


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id FORM Lead", "MALFORMED_QUERY", "unexpected token: 'FORM'"),
        ("SELECT Id FROM Foo", "INVALID_TYPE", "sObject type 'Foo' is not supported."),
        ("SELECT Id FROM Lead FOR UPDATE", "MALFORMED_QUERY", "unexpected token: 'FOR'"),
        ("SELECT Id FROM Lead ALL ROWS", "MALFORMED_QUERY", "unexpected token: 'ALL'"),
        ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "ERROR at Row:1:Column:"),
        ("SELECT FROM Lead", "MALFORMED_QUERY", "unexpected token"),
        ("", "MALFORMED_QUERY", "query"),
        ("SELECT Id FROM Lead WHERE Name = 'open", "MALFORMED_QUERY", "ERROR at Row:1"),
        ("SELECT Id FROM Lead LIMIT -1", "MALFORMED_QUERY", "unexpected token"),
    ],
)
def test_error_shapes(org: Org, soql: str, code: str, fragment: str) -> None:
    error = failure(org, soql)
    assert error.code == code
    assert fragment in error.message


def test_errors_on_later_lines_report_their_row(org: Org) -> None:
    error = failure(org, "SELECT Id\nFROM Lead\nWHERE Bogus = 1")
    assert "ERROR at Row:3:Column:7" in error.message


# -- Bulk CSV ----------------------------------------------------------------------------------


def test_csv_header_and_cells(org: Org) -> None:
    leads(
        org,
        {"FirstName": 'Say "hi"', "DoNotCall": 1, "AnnualRevenue": 1500.0, "Email": None},
        now=MOMENT,
    )
    query = compiled(
        org,
        "SELECT FirstName, Email, DoNotCall, IsDeleted, AnnualRevenue, "
        "CreatedDate, Owner.Email FROM Lead",
    )
    assert query.csv_header() == [
        "FirstName",
        "Email",
        "DoNotCall",
        "IsDeleted",
        "AnnualRevenue",
        "CreatedDate",
        "Owner.Email",
    ]
    assert list(query.iter_csv_rows(org.store.reader())) == [
        # None is an empty cell: the csv module writes it as one.
        ['Say "hi"', None, "true", "false", "1500", "2024-05-01T12:34:56.000Z", "admin@example.com"]
    ]
    assert list(compiled(org, "SELECT COUNT() FROM Lead").iter_csv_rows(org.store.reader())) == []


# -- child sub-queries -------------------------------------------------------------------------


def test_child_sub_query(org: Org) -> None:
    acme, _empty = system_insert(org, "Account", [{"Name": "Acme"}, {"Name": "Empty"}])
    system_insert(
        org,
        "Contact",
        [
            {"LastName": "Xu", "AccountId": acme},
            {"LastName": "Ye", "AccountId": acme},
            {"LastName": "Zed", "AccountId": acme},
        ],
    )
    soql = (
        "SELECT Name, (SELECT LastName, Account.Name FROM contacts WHERE LastName != 'Zed' "
        "ORDER BY LastName DESC) FROM Account ORDER BY Name"
    )
    query = compiled(org, soql)
    assert query.has_subquery
    first, second = query.iter_json_records(org.store.reader(), "62.0")
    children = first["Contacts"]
    assert (children["totalSize"], children["done"]) == (2, True)
    assert [c["LastName"] for c in children["records"]] == ["Ye", "Xu"]
    assert children["records"][0]["Account"]["Name"] == "Acme"
    assert children["records"][0]["attributes"]["type"] == "Contact"
    assert second["Contacts"] is None
    assert not compiled(org, "SELECT Name FROM Account").has_subquery


def test_unknown_child_relationship(org: Org) -> None:
    error = failure(org, "SELECT Name, (SELECT Id FROM Nothings) FROM Account")
    assert error.code == "INVALID_TYPE"
    assert "Didn't understand relationship 'Nothings'" in error.message


def test_polymorphic_who_and_what(org: Org) -> None:
    [lead_id] = leads(org, {"FirstName": "Lea", "LastName": "Dee"})
    [account] = system_insert(org, "Account", [{"Name": "Acme"}])
    system_insert(
        org, "Task", [{"Subject": "Call", "WhoId": lead_id, "WhatId": account}, {"Subject": "Solo"}]
    )
    records = rows(org, "SELECT Subject, Who.Name, What.Name FROM Task ORDER BY Subject")
    call, solo = records
    assert call["Who"]["Name"] == "Lea Dee"
    assert call["Who"]["attributes"]["url"].endswith(f"/sobjects/Lead/{lead_id}")
    assert call["What"]["Name"] == "Acme"
    assert solo["Who"] is None and solo["What"] is None
    assert column(org, "SELECT Subject FROM Task WHERE Who.Name LIKE 'lea%'", "Subject") == ["Call"]
