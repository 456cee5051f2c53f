"""A property-based test of the two-way sync: random edits on both sides and random cycles
(pull, then push). After every cycle both sides hold, field by field, what the rules say:
a field one side changed carries that side's value; a field both sides changed to different
values carries the rule's winner (lead: leadsync, contact: Salesforce). No edit is lost."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from leadsync.db import LeadDatabase
from leadsync.emulator.org import Org
from leadsync.emulator.sessions import Session
from leadsync.salesforce.client import SalesforceClient

from ..conftest import ApiClient
from .conftest import PullerFactory
from .pushing import copied, edit, ids, make_pusher, person_of, sf_record

# person field -> API name, per object
FIELDS = {
    "Lead": {"title": "Title", "city": "City", "description": "Description"},
    "Contact": {"title": "Title", "city": "MailingCity", "description": "Description"},
}
VALUES = st.sampled_from(["alpha", "beta", "gamma", None])


def test_both_sides_converge_to_what_the_rules_say(
    org: Org,
    admin: Session,
    sf_admin: ApiClient,
    client: SalesforceClient,
    any_db: LeadDatabase,
    make_puller: PullerFactory,
) -> None:
    puller = copied(org, any_db, make_puller, records=20)
    pusher = make_pusher(org, any_db, client)
    records = [("Lead", i) for i in ids(sf_admin, "Lead", 2)] + [
        ("Contact", i) for i in ids(sf_admin, "Contact", 1)
    ]
    people = {sfdc_id: person_of(any_db, sfdc_id)["id"] for _, sfdc_id in records}

    def remote(obj: str, sfdc_id: str) -> dict[str, Any]:
        record = sf_record(sf_admin, obj, sfdc_id)
        return {name: record[api] for name, api in FIELDS[obj].items()}

    def local(obj: str, sfdc_id: str) -> dict[str, Any]:
        person = any_db.get_person(people[sfdc_id])
        return {name: person[name] for name in FIELDS[obj]}

    class TwoWaySync(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # Each example starts from wherever the last one left both sides (in agreement).
            self.base = {(o, i): local(o, i) for o, i in records}
            self.local = {key: dict(values) for key, values in self.base.items()}
            self.remote = {key: dict(values) for key, values in self.base.items()}

        @rule(
            which=st.integers(0, len(records) - 1),
            name=st.sampled_from(sorted(FIELDS["Lead"])),
            value=VALUES,
        )
        def edit_locally(self, which: int, name: str, value: str | None) -> None:
            key = records[which]
            any_db.update_person(people[key[1]], {name: value})
            self.local[key][name] = value

        @rule(
            which=st.integers(0, len(records) - 1),
            name=st.sampled_from(sorted(FIELDS["Lead"])),
            value=VALUES,
        )
        def edit_in_salesforce(self, which: int, name: str, value: str | None) -> None:
            obj, sfdc_id = records[which]
            edit(org, admin, obj, sfdc_id, **{FIELDS[obj][name]: value})
            org.clock.advance(1)
            self.remote[(obj, sfdc_id)][name] = value

        @rule()
        def cycle(self) -> None:
            org.clock.advance(1)
            puller.run()
            pusher.run()
            for key in records:
                for name in FIELDS[key[0]]:
                    self.base[key][name] = self._expected(key, name)
                self.local[key] = dict(self.base[key])
                self.remote[key] = dict(self.base[key])
            for obj, sfdc_id in records:
                assert local(obj, sfdc_id) == self.base[(obj, sfdc_id)], (obj, "local")
                assert remote(obj, sfdc_id) == self.base[(obj, sfdc_id)], (obj, "salesforce")

        def _expected(self, key: tuple[str, str], name: str) -> Any:
            base, mine, theirs = self.base[key][name], self.local[key][name], self.remote[key][name]
            if mine != base and theirs != base and mine != theirs:
                return mine if key[0] == "Lead" else theirs  # the default rules
            return mine if mine != base else theirs

        @invariant()
        def nothing_is_lost_locally(self) -> None:
            for obj, sfdc_id in records:
                assert local(obj, sfdc_id) == self.local[(obj, sfdc_id)]

        def teardown(self) -> None:
            self.cycle()  # a final pair of cycles: both sides agree and stay agreed
            self.cycle()

    run_state_machine_as_test(
        TwoWaySync,
        settings=settings(
            max_examples=12,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
