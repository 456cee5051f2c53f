from __future__ import annotations

import datetime as dt

import pytest

from leadsync.db import LeadDatabase
from leadsync.errors import PersonNotFound, ValidationError

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_activities_are_listed_oldest_first(database: LeadDatabase) -> None:
    person = database.create_person({"lastName": "A"})
    later = database.add_activity(
        person["id"], "SFDC Activity", {"subject": "Call"}, at=T0 + dt.timedelta(hours=2)
    )
    earlier = database.add_activity(
        person["id"],
        "Interesting Moment",
        {"description": "Web"},
        at=dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    same_time = database.add_activity(person["id"], "Change Owner", {}, at=T0)
    listed = database.list_activities(person["id"])
    assert [a["type"] for a in listed] == [
        "Interesting Moment",
        "Change Owner",
        "SFDC Activity",
        "New Lead",
    ]  # 13:00+01:00 == 12:00Z; ties keep insertion order; "New Lead" was stamped now
    assert earlier["at"] == "2026-03-01T12:00:00Z" and same_time["at"] == earlier["at"]
    assert later == listed[2] and later["attributes"] == {"subject": "Call"}
    assert [a["type"] for a in database.list_activities(person["id"], types=["Change Owner"])] == [
        "Change Owner"
    ]


def test_new_lead_and_change_data_value_are_logged(database: LeadDatabase) -> None:
    person = database.create_person({"lastName": "A"})
    database.update_person(person["id"], {"lastName": "B"})
    [new, change] = database.list_activities(person["id"])
    assert new["type"] == "New Lead" and new["attributes"] == {"source": "leadsync"}
    assert change["type"] == "Change Data Value"
    assert change["attributes"] == {
        "field": "lastName",
        "oldValue": "A",
        "newValue": "B",
        "source": "leadsync",
    }


def test_activity_input_is_checked(database: LeadDatabase) -> None:
    person = database.create_person({"lastName": "A"})
    with pytest.raises(PersonNotFound):
        database.add_activity(999_999, "SFDC Activity", {})
    with pytest.raises(PersonNotFound):
        database.list_activities(999_999)
    with pytest.raises(ValidationError) as caught:
        database.add_activity(person["id"], "SFDC Activity", {}, at=dt.datetime(2026, 1, 1))
    assert caught.value.field == "at"
