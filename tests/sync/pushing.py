"""Helpers for the push tests: a copied org, a pusher on the org's clock, Salesforce reads."""

from __future__ import annotations

from typing import Any

from leadsync.db import LeadDatabase
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.emulator.sessions import Session
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import Puller
from leadsync.sync.push import Pusher, PushSettings
from leadsync.sync.rules import FieldRules

from ..conftest import ApiClient
from .conftest import PullerFactory, org_clock

HOUR = 3600


def copied(org: Org, db: LeadDatabase, make_puller: PullerFactory, records: int = 40) -> Puller:
    """A seeded org copied into `db`, the org clock frozen an hour later."""
    seed_demo(org, records=records)
    org.clock.freeze()
    org.clock.advance(HOUR)
    puller = make_puller(db)
    assert puller.run().copied
    org.clock.advance(60)
    return puller


def make_pusher(
    org: Org,
    db: LeadDatabase,
    client: SalesforceClient,
    *,
    rules: FieldRules | None = None,
    **settings: Any,
) -> Pusher:
    return Pusher(db, client, settings=PushSettings(**settings), rules=rules, clock=org_clock(org))


def ids(sf_admin: ApiClient, obj: str, n: int) -> list[str]:
    where = "WHERE IsConverted = false " if obj == "Lead" else ""
    soql = f"SELECT Id FROM {obj} {where}ORDER BY Id LIMIT {n}"
    return [r["Id"] for r in sf_admin.query(soql)["records"]]


def sf_record(sf_admin: ApiClient, obj: str, sfdc_id: str) -> dict[str, Any]:
    response = sf_admin.get(f"sobjects/{obj}/{sfdc_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def edit(org: Org, admin: Session, obj: str, sfdc_id: str, **values: object) -> None:
    [result] = writes.update(org, admin, [(obj, sfdc_id, values)])
    assert result.as_json()["success"], result.as_json()


def person_of(db: LeadDatabase, sfdc_id: str) -> dict[str, Any]:
    [found] = db.find_persons(sfdcLeadId=sfdc_id) + db.find_persons(sfdcContactId=sfdc_id)
    return found
