"""Shared by the reliability tests: seeded fault injection (in the emulator and, for responses
lost after a write was applied, in the transport), a fast-retrying connector, and readers that
compare both sides field by field."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.testclient import TestClient

from leadsync.db import LeadDatabase
from leadsync.emulator.faults import FaultInjector
from leadsync.emulator.org import Org
from leadsync.salesforce import soql
from leadsync.salesforce.auth import Credentials
from leadsync.salesforce.client import RetryPolicy, SalesforceClient

# The emulator's failure kinds that answer at once (`slow`/`timeout` only add waiting).
FAULT_KINDS = ("unavailable", "lock", "limit", "drop", "invalid_session")
# Tiny, bounded backoff: the schedule is exercised, the test does not wait for it.
FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.001, max_delay=0.004)
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

# person field -> API name, per object: the two-way fields the reliability tests edit.
FIELDS: Mapping[str, Mapping[str, str]] = {
    "Lead": {"title": "Title", "city": "City", "description": "Description"},
    "Contact": {"title": "Title", "city": "MailingCity", "description": "Description"},
}


def org_clock(org: Org) -> Callable[[], dt.datetime]:
    return lambda: dt.datetime.fromtimestamp(org.clock.now_float(), dt.UTC)


def credentials(username: str = "sync@example.com", url: str = "http://testserver") -> Credentials:
    return Credentials(
        login_url=url,
        username=username,
        password="password",
        client_id="leadsync",
        client_secret="leadsync-secret",
    )


@dataclass
class Sleeps:
    """Records the waits the connector asked for instead of sleeping: the retry backoff
    (the connector counts a retry just before it waits) apart from Bulk job polls."""

    backoff: list[float] = field(default_factory=list)
    polls: list[float] = field(default_factory=list)
    client: SalesforceClient | None = None
    _retries: int = 0

    def __call__(self, seconds: float) -> None:
        retries = self.client.usage.retries if self.client is not None else 0
        (self.backoff if retries != self._retries else self.polls).append(seconds)
        self._retries = retries


def fast_client(
    http: httpx.Client, *, username: str = "sync@example.com", sleeps: Sleeps | None = None
) -> SalesforceClient:
    sleeps = sleeps if sleeps is not None else Sleeps()
    client = SalesforceClient(credentials(username), http=http, retry=FAST_RETRY, sleep=sleeps)
    sleeps.client = client
    return client


def inject(
    org: Org, rate: float, *, seed: int, kinds: Iterable[str] = FAULT_KINDS, **where: str
) -> None:
    """Fail about `rate` of the API calls, spread evenly over `kinds` (seeded). The rules are
    tried in turn, so each fires at the rate that makes their union `rate`."""
    kinds = tuple(kinds)
    org.faults = FaultInjector(seed)
    each = 1 - (1 - rate) ** (1 / len(kinds))
    for kind in kinds:
        org.faults.add({"kind": kind, "rate": each, "delay": 0, **where})


def faults_by_kind(org: Org) -> dict[str, int]:
    return {str(r["kind"]): int(r["injected"]) for r in org.faults.rules()}


class LosingTransport(httpx.BaseTransport):
    """Loses the response of a seeded share of the API writes *after* the org applied them
    (the connection drops on the way back): the hardest case for duplicates, which the
    emulator's own `drop` fault (before the call runs) does not cover."""

    def __init__(self, inner: httpx.BaseTransport, rate: float, seed: int) -> None:
        self.inner = inner
        self.rate = rate
        self.random = random.Random(seed)
        self.lost = 0
        self.enabled = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (
            self.enabled
            and request.method in WRITE_METHODS
            and request.url.path.startswith("/services/data/")
            and self.random.random() < self.rate
        ):
            response.read()
            response.close()
            self.lost += 1
            raise httpx.RemoteProtocolError(
                "test: connection lost after the write", request=request
            )
        return response


def lose_responses(http: TestClient, rate: float, seed: int) -> LosingTransport:
    losing = LosingTransport(http._transport, rate, seed)
    http._transport = losing
    return losing


def sf_values(client: SalesforceClient, obj: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """API values of FIELDS[obj] for these records (read as the admin), by record id."""
    wanted = sorted(set(ids))
    apis = list(FIELDS[obj].values())
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 300):
        where = "Id IN " + soql.in_list(wanted[start : start + 300])
        for record in client.query(soql.select(obj, ["Id", *apis], where=where)):
            found[record["Id"]] = {a: record.get(a) for a in apis}
    return found


def linked_persons(db: LeadDatabase) -> dict[str, dict[str, Any]]:
    """Persons held in Salesforce and not deleted there, by their Salesforce id."""
    return {
        str(p["sfdcId"]): p
        for p in db.find_persons()
        if p["sfdcId"] and not p["sfdcIsDeleted"] and p["sfdcType"] in FIELDS
    }


def disagreements(
    db: LeadDatabase, admin: SalesforceClient, limit: int = 20
) -> list[tuple[str, str, Any, Any]]:
    """(Salesforce id, field, local value, Salesforce value) wherever the two sides differ."""
    persons = linked_persons(db)
    found: list[tuple[str, str, Any, Any]] = []
    for obj, names in FIELDS.items():
        ids = [i for i, p in persons.items() if p["sfdcType"] == obj]
        remote = sf_values(admin, obj, ids)
        for sfdc_id in ids:
            record = remote.get(sfdc_id)
            for name, api in names.items():
                local = persons[sfdc_id][name]
                theirs = None if record is None else record[api]
                if record is None or local != theirs:
                    found.append((sfdc_id, name, local, theirs))
    return found[:limit] if limit else found
