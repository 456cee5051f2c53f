"""Bad input: every malformed value a person can hold (too long for its Salesforce field, an
unknown restricted-picklist value, an email Salesforce refuses, a number out of range, control
characters, very large text) ends as a per-record error on that person (an open sync error with
its person id, and a failed "Sync Lead to SFDC" activity with the error code), never a crashed
cycle; the other persons of the same batch still reach Salesforce. And SOQL built from user
values with `leadsync.salesforce.soql` cannot be injected: fuzzed against the emulator's parser,
a statement matches only the intended rows or is refused as malformed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from leadsync.db import LeadDatabase
from leadsync.db.activities import SYNC_LEAD_TO_SFDC
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.errors import ValidationError
from leadsync.salesforce import soql
from leadsync.salesforce.client import SalesforceClient
from leadsync.salesforce.describe import FieldInfo
from leadsync.sync.cycle import SUCCEEDED, Syncer

from .helpers import org_clock

CONTROL = st.characters(min_codepoint=0, max_codepoint=31)
TEXT = st.text(min_size=1, max_size=60)


def too_long(length: int) -> st.SearchStrategy[str]:
    return st.integers(length + 1, length + 300).map(lambda n: "x" * n)


def malformed(lead: dict[str, FieldInfo]) -> st.SearchStrategy[tuple[str, Any]]:
    """(person field, value) pairs Salesforce cannot take as they are, or may refuse."""
    statuses = set(lead["Status"].picklist_values)
    return st.one_of(
        st.tuples(st.just("title"), too_long(lead["Title"].length)),
        st.tuples(st.just("phone"), too_long(lead["Phone"].length)),
        st.tuples(st.just("firstName"), too_long(lead["FirstName"].length)),
        st.tuples(st.just("description"), too_long(lead["Description"].length)),
        st.tuples(st.just("leadStatus"), TEXT.filter(lambda v: v.strip() and v not in statuses)),
        st.tuples(st.just("email"), st.sampled_from(["a@b", "x@-y.example", "a@@b.example"])),
        st.tuples(st.just("email"), st.just("e" * 90 + "@example.com")),
        st.tuples(st.just("Lead_Score__c"), st.integers(10**18, 10**30).map(float)),
        st.tuples(st.just("title"), st.text(CONTROL, min_size=1, max_size=20)),
        st.tuples(st.just("description"), st.text(CONTROL, min_size=1, max_size=20)),
    )


def must_fail(info: FieldInfo, value: Any) -> bool:
    """Values Salesforce refuses by definition; others it may take as they are."""
    if isinstance(value, str) and info.length and len(value) > info.length:
        return True
    return bool(info.restricted_picklist and value not in info.picklist_values)


@pytest.fixture
def copied(org: Org, database: LeadDatabase, sync_client: SalesforceClient) -> Syncer:
    seed_demo(org, records=60)
    org.clock.freeze()
    org.clock.advance(3600)
    syncer = Syncer(database, sync_client, clock=org_clock(org))
    assert syncer.run_cycle().status == SUCCEEDED
    return syncer


def open_lead_persons(db: LeadDatabase) -> list[dict[str, Any]]:
    return [p for p in db.find_persons(sfdcType="Lead") if not p["sfdcIsDeleted"]]


API = {
    "title": "Title",
    "phone": "Phone",
    "firstName": "FirstName",
    "description": "Description",
    "leadStatus": "Status",
    "email": "Email",
    "Lead_Score__c": "Lead_Score__c",
}


def test_a_malformed_value_is_an_error_on_its_person_and_the_batch_goes_on(
    org: Org,
    database: LeadDatabase,
    copied: Syncer,
    admin_client: SalesforceClient,
    record_property: Callable[[str, object], None],
) -> None:
    lead = copied.pusher.describe.fields("Lead")
    people = open_lead_persons(database)
    outcomes: Counter[str] = Counter()
    rounds = iter(range(10**6))

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # a replay would meet an already-fixed org
    )
    @given(bad=malformed(lead), pick=st.integers(0, 2**16))
    def one(bad: tuple[str, Any], pick: int) -> None:
        name, value = bad
        n = next(rounds)
        victim, *others = (people[(pick + i) % len(people)] for i in range(3))
        try:
            database.update_person(victim["id"], {name: value})
        except ValidationError as exc:  # leadsync itself refuses it: the person cannot hold it
            assert name in str(exc)
            outcomes["refusedLocally"] += 1
            return
        for i, other in enumerate(others):
            database.update_person(other["id"], {"title": f"good {n}-{i}"})
        org.clock.advance(2)
        result = copied.run_cycle()  # never raises
        assert result.status == SUCCEEDED, result.as_json()
        sent = {o["Id"]: o for o in sf_leads(admin_client, [p["sfdcLeadId"] for p in others])}
        for i, other in enumerate(others):
            assert sent[other["sfdcLeadId"]]["Title"] == f"good {n}-{i}"
        errors = [e for e in database.list_sync_errors() if e["personId"] == victim["id"]]
        info = lead[API[name]]
        if errors:
            [error] = errors
            activity = database.list_activities(victim["id"], types=[SYNC_LEAD_TO_SFDC])[-1]
            attributes = activity["attributes"]
            assert attributes["success"] is False
            assert attributes["errorCode"] == error["code"]
            assert error["sfdcId"] == victim["sfdcLeadId"]
            outcomes[f"error:{error['code']}"] += 1
            database.update_person(victim["id"], {name: victim[name]})  # fixed by a person
            org.clock.advance(2)
            assert copied.run_cycle().status == SUCCEEDED
            assert not [e for e in database.list_sync_errors() if e["personId"] == victim["id"]]
        else:
            assert not must_fail(info, value), (name, value)
            [remote] = sf_leads(admin_client, [victim["sfdcLeadId"]])
            assert remote[API[name]] == value
            outcomes["acceptedBySalesforce"] += 1

    one()
    summary = dict(outcomes)
    print(
        f"\nbad input ({database.engine.dialect.name}): {sum(summary.values())} values, {summary}"
    )
    for key, count in summary.items():
        record_property(key, count)
    assert sum(v for k, v in summary.items() if k.startswith("error:")) > 0


def sf_leads(client: SalesforceClient, ids: list[str]) -> list[dict[str, Any]]:
    fields = ["Id", *API.values()]
    return client.query(soql.select("Lead", fields, where="Id IN " + soql.in_list(ids)))


# -- SOQL injection --------------------------------------------------------------------------


HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "x' OR Name != '",
            "x' OR LastName != 'y",
            "\\' OR LastName != '",
            "x\\",
            "%",
            "_",
            "' OR Id != null OR LastName = '",
            "x') OR (LastName != 'y",
            "x'/*",
            "x\n' OR LastName != '",
        ]
    ),
    st.text(alphabet="'\\\"%_() =!ORAND\n", max_size=30),
)


@pytest.fixture
def query_org(org: Org, admin_client: SalesforceClient) -> Iterator[SalesforceClient]:
    seed_demo(org, records=50)
    yield admin_client


def ask(client: SalesforceClient, statement: str) -> list[dict[str, Any]] | None:
    """The rows, or None if the emulator refused the statement as malformed."""
    try:
        return client.query(statement)
    except Exception as exc:  # the connector's error for a 400 MALFORMED_QUERY and kin
        code = getattr(exc, "code", "")
        assert code in ("MALFORMED_QUERY", "INVALID_FIELD", "INVALID_QUERY_FILTER_OPERATOR"), exc
        return None


def test_soql_built_from_user_values_never_widens_a_result(
    org: Org, query_org: SalesforceClient, record_property: Callable[[str, object], None]
) -> None:
    user = org.find_user("admin@example.com")
    assert user is not None
    admin = org.sessions.issue(user.id, user.username, user.profile, "leadsync")
    outcomes: Counter[str] = Counter()

    @settings(max_examples=120, deadline=None, derandomize=True)
    @given(value=HOSTILE, other=HOSTILE)
    def one(value: str, other: str) -> None:
        planted = writes.create(org, admin, [("Lead", {"LastName": value or "-", "Company": "Q"})])
        made = planted[0].as_json()
        planted_id = made["id"] if made["success"] and value else None
        checks = {
            "quote": (
                soql.select("Lead", ["Id", "LastName"], where="LastName = " + soql.quote(value)),
                {value},
            ),
            "literal": (
                soql.select("Lead", ["Id", "LastName"], where="LastName = " + soql.literal(value)),
                {value},
            ),
            "in_list": (
                soql.select(
                    "Lead", ["Id", "LastName"], where="LastName IN " + soql.in_list([value, other])
                ),
                {value, other},
            ),
            "like": (
                soql.select(
                    "Lead", ["Id", "LastName"], where="LastName LIKE " + soql.quote_like(value)
                ),
                {value},
            ),
        }
        for name, (statement, wanted) in checks.items():
            found = ask(query_org, statement)
            if found is None:
                outcomes[f"{name}:refused"] += 1
                continue
            lowered = {w.lower() for w in wanted}
            widened = [r for r in found if str(r["LastName"]).lower() not in lowered]
            assert widened == [], (name, statement, widened[:3])
            if planted_id is not None:
                assert planted_id in {r["Id"] for r in found}, (name, statement)
            outcomes[f"{name}:ok"] += 1
        if planted_id is not None:
            writes.delete(org, admin, [planted_id])

    one()
    summary = dict(outcomes)
    print(f"\nSOQL injection fuzz: {summary}")
    for key, count in summary.items():
        record_property(key, count)
