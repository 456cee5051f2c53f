"""Shared set-up for the flow action tests: an empty org copied into the lead database, persons
linked by creating their records in the emulator (as the admin) and pulling them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadsync.db import LeadDatabase
from leadsync.emulator import writes
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import Puller
from leadsync.sync.actions import Actions

from .conftest import PullerFactory, org_clock
from .helpers import activity_count, next_minute, person_by_sfdc

HOUR = 3600


@dataclass
class RecordingPusher:
    """Stands in for `Pusher` where a test must not reach the implied sync, or delegates to a
    real one and records the calls."""

    real: Any = None
    calls: list[tuple[int, str | None]] = field(default_factory=list)

    def sync_person(self, person_id: int, *, owner_id: str | None = None) -> dict[str, Any]:
        self.calls.append((person_id, owner_id))
        if self.real is None:
            raise AssertionError(f"unexpected implied sync of person {person_id}")
        result: dict[str, Any] = self.real.sync_person(person_id, owner_id=owner_id)
        return result


@dataclass
class World:
    org: Org
    admin: Session
    db: LeadDatabase
    client: SalesforceClient
    puller: Puller
    pusher: RecordingPusher
    actions: Actions

    def create(self, obj: str, **values: Any) -> str:
        [result] = writes.create(self.org, self.admin, [(obj, values)])
        assert result.success, result.as_json()
        assert result.id is not None
        return result.id

    def edit(self, obj: str, sfdc_id: str, **values: Any) -> None:
        [result] = writes.update(self.org, self.admin, [(obj, sfdc_id, values)])
        assert result.success, result.as_json()

    def pull(self) -> Any:
        next_minute(self.org)  # what changed before is in an ended minute: every check sees it
        result = self.puller.run()
        self.org.clock.advance(1)
        return result

    def linked_lead(self, **values: Any) -> dict[str, Any]:
        """A person whose lead exists in Salesforce and was pulled."""
        lead_id = self.create(
            "Lead",
            **{
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Company": "Analytical Engines",
                **values,
            },
        )
        self.pull()
        return person_by_sfdc(self.db, lead_id)

    def linked_contact(self, **values: Any) -> dict[str, Any]:
        account_id = self.create("Account", Name=values.pop("account", "Difference Ltd"))
        contact_id = self.create(
            "Contact",
            **{"FirstName": "Charles", "LastName": "Babbage", "AccountId": account_id, **values},
        )
        self.pull()
        return person_by_sfdc(self.db, contact_id)

    def record(
        self, obj: str, sfdc_id: str, *fields: str, all_rows: bool = False
    ) -> dict[str, Any]:
        """A record as Salesforce holds it (read directly from the emulator's store)."""
        names = ", ".join(f'"{name}"' for name in ("Id", "IsDeleted", *fields))
        row = (
            self.org.store.reader()
            .execute(f'SELECT {names} FROM "{obj}" WHERE "Id" = ?', (sfdc_id,))
            .fetchone()
        )
        assert row is not None, f"{obj} {sfdc_id} not in the org"
        return dict(zip(("Id", "IsDeleted", *fields), row, strict=True))

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return list(self.org.store.reader().execute(sql, params).fetchall())

    def calls(self) -> int:
        return self.org.limits.used

    def activity_count(self) -> int:
        return activity_count(self.db)


def make_world(
    org: Org,
    admin: Session,
    db: LeadDatabase,
    client: SalesforceClient,
    make_puller: PullerFactory,
    pusher: RecordingPusher | None = None,
) -> World:
    org.clock.freeze()
    org.clock.advance(HOUR)
    puller = make_puller(db)
    assert puller.run().copied
    org.clock.advance(60)
    pusher = pusher or RecordingPusher()
    actions = Actions(db, client, pusher, clock=org_clock(org))
    return World(org, admin, db, client, puller, pusher, actions)


def user_id(org: Org, username: str) -> str:
    user = org.find_user(username)
    assert user is not None
    return user.id


def queue_id(org: Org) -> str:
    row = (
        org.store.reader()
        .execute('SELECT "Id" FROM "Group" WHERE "Type" = \'Queue\' ORDER BY "Id" LIMIT 1')
        .fetchone()
    )
    return str(row[0])
