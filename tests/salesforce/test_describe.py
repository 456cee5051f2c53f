"""The describe cache: describes fetched together, 25 to a `/composite` call, and
refreshed together once they expire."""

from __future__ import annotations

import pytest

from leadsync.emulator.org import Org
from leadsync.emulator.schema import FieldDef
from leadsync.errors import FatalSalesforceError
from leadsync.salesforce import describe as describe_module
from leadsync.salesforce.client import SalesforceClient
from leadsync.salesforce.describe import DescribeCache

OBJECTS = ["Lead", "Contact", "Account", "User", "Task", "Event", "Campaign", "Opportunity"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def calls_of(org: Org, action: object) -> int:
    before = org.limits.used
    assert callable(action)
    action()
    return org.limits.used - before


def test_a_prefetch_describes_every_object_in_one_call(client: SalesforceClient, org: Org) -> None:
    cache = DescribeCache(client)
    assert calls_of(org, lambda: cache.prefetch(OBJECTS)) == 1
    assert calls_of(org, lambda: [cache.fields(name) for name in OBJECTS]) == 0
    alone = DescribeCache(client)  # one describe, one plain GET: the same answer
    assert calls_of(org, lambda: alone.fields("Lead")) == 1
    assert alone.fields("Lead") == cache.fields("Lead")
    assert "Email" in cache.fields("Lead") and "Internal_Notes__c" not in cache.fields("Lead")


def test_more_describes_than_a_batch_holds_take_a_call_per_batch(
    client: SalesforceClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(describe_module, "BATCH_MAX", 3)
    cache = DescribeCache(client)
    assert calls_of(org, lambda: cache.prefetch(OBJECTS)) == 3  # 8 describes, 3 a call
    assert calls_of(org, lambda: cache.prefetch(OBJECTS)) == 0


def test_a_describe_failing_in_a_batch_raises_as_a_lone_describe_does(
    client: SalesforceClient, org: Org
) -> None:
    with pytest.raises(FatalSalesforceError) as alone:
        DescribeCache(client).fields("No_Such_Thing__c")
    cache = DescribeCache(client)
    with pytest.raises(FatalSalesforceError) as batched:
        cache.prefetch(["Lead", "No_Such_Thing__c", "Contact"])
    assert (batched.value.code, str(batched.value)) == (alone.value.code, str(alone.value))
    assert calls_of(org, lambda: (cache.fields("Lead"), cache.fields("Contact"))) == 0


def test_expired_describes_are_refreshed_together_in_one_call(
    client: SalesforceClient, org: Org
) -> None:
    clock = Clock()
    cache = DescribeCache(client, ttl=300.0, clock=clock)
    cache.object_names()
    clock.now += 10  # the describes are fetched a little after the global describe
    cache.prefetch(OBJECTS)
    clock.now += 295  # the global describe expired, the object describes not quite
    assert calls_of(org, cache.object_names) == 1  # every describe rides along with it
    assert calls_of(org, lambda: cache.prefetch(OBJECTS)) == 0
    clock.now += 301  # now they expire together: one call again, not two
    assert calls_of(org, lambda: (cache.object_names(), cache.prefetch(OBJECTS))) == 1
    clock.now += 100
    assert calls_of(org, lambda: (cache.object_names(), cache.prefetch(OBJECTS))) == 0


def test_an_expired_describe_picks_up_a_new_field(client: SalesforceClient, org: Org) -> None:
    clock = Clock()
    cache = DescribeCache(client, ttl=300.0, clock=clock)
    assert "Shoe_Size__c" not in cache.fields("Lead")
    lead = org.schema.get("Lead")
    assert lead is not None
    lead.add(FieldDef("Shoe_Size__c", "string", length=10, custom=True))
    org.store.sync_tables()
    clock.now += 200
    assert "Shoe_Size__c" not in cache.fields("Lead")  # cached
    clock.now += 101
    assert cache.fields("Lead")["Shoe_Size__c"].custom
