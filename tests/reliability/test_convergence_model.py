"""Convergence model: a hypothesis state machine edits both sides (lead and contact fields),
converts, merges and deletes in Salesforce (as its admin), and syncs through trouble (injected
faults, a crash between a Salesforce write and the local commit, a cycle stopped midway). Each
sync ends in quiescence (faults off, two clean cycles), after which both sides must agree, field
by field, with a small reference model of the rules: a field one side changed carries that
side's value; both sides changed it: lead fields leadsync's, contact fields Salesforce's; company
fields go from Salesforce only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from leadsync.db import LeadDatabase
from leadsync.emulator import writes
from leadsync.emulator.convert import LeadConvert, convert_leads
from leadsync.emulator.merge import MergeRequest, merge_records
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.emulator.sessions import Session
from leadsync.salesforce import soql
from leadsync.salesforce.client import SalesforceClient
from leadsync.sync import push as push_module
from leadsync.sync.cycle import SUCCEEDED, Syncer

from .helpers import FIELDS, inject, org_clock, sf_values

NAMES = sorted(FIELDS["Lead"])
VALUES = st.sampled_from(["alpha", "beta", "gamma", "delta", None])
LEADS, CONTACTS = 4, 2
# Was True while a lead converted in Salesforce lost a local edit waiting to be pushed (fixed:
# the new contact's baseline starts from the lead's; test at the end). Kept as a switch so the
# model can be narrowed again if a regression needs isolating.
CONVERT_LOSES_LOCAL_EDITS = False


@dataclass
class Tracked:
    """One person as the model sees it."""

    person_id: int
    obj: str
    sfdc_id: str
    values: dict[str, Any]  # agreed at the last quiescence
    local: dict[str, Any] = field(default_factory=dict)  # edited here since then
    remote: dict[str, Any] = field(default_factory=dict)  # edited in Salesforce since then
    alive: bool = True
    agree_only: bool = False  # merged: only agreement of both sides is checked

    def settle(self) -> None:
        for name in set(self.local) | set(self.remote):
            if name in self.local and (name not in self.remote or self.obj == "Lead"):
                self.values[name] = self.local[name]
            else:
                self.values[name] = self.remote[name]
        self.local.clear()
        self.remote.clear()


@dataclass
class World:
    org: Org
    db: LeadDatabase
    admin: Session
    reader: SalesforceClient
    syncer: Syncer
    stop_after: list[int]
    counts: Counter[str]

    def cycle(self) -> str | None:
        self.org.clock.advance(2)
        self.counts["cycles"] += 1
        try:
            return self.syncer.run_cycle().status
        except Exception as exc:  # a job-level failure: the runner runs the next cycle
            self.counts[f"jobFailure:{type(exc).__name__}"] += 1
            return None


@pytest.mark.parametrize(
    "budget",
    [
        pytest.param((4, 14), id="default"),
        pytest.param((12, 25), marks=pytest.mark.slow, id="slow"),
    ],
)
def test_both_sides_agree_with_the_model_after_quiescence(
    budget: tuple[int, int],
    org: Org,
    database: LeadDatabase,
    sync_client: SalesforceClient,
    admin_client: SalesforceClient,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    seed_demo(org, records=80)
    org.clock.freeze()
    org.clock.advance(3600)
    stop_after: list[int] = []

    def should_stop() -> bool:
        if not stop_after:
            return False
        stop_after[0] -= 1
        return stop_after[0] < 0

    syncer = Syncer(database, sync_client, clock=org_clock(org), should_stop=should_stop)
    assert syncer.run_cycle().status == SUCCEEDED
    user = org.find_user("admin@example.com")
    assert user is not None
    admin = org.sessions.issue(user.id, user.username, user.profile, "leadsync")
    counts: Counter[str] = Counter()
    world = World(org, database, admin, admin_client, syncer, stop_after, counts)
    real_move = push_module._move_baseline

    class Model(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            counts["examples"] += 1
            self.people = fresh_people(world)
            self.account_industry = account_industries(world)

        # -- edits ------------------------------------------------------------------------

        @rule(which=st.integers(0, LEADS + CONTACTS - 1), name=st.sampled_from(NAMES), value=VALUES)
        def edit_locally(self, which: int, name: str, value: str | None) -> None:
            counts["steps"] += 1
            person = self.people[which]
            if not person.alive:
                return
            world.db.update_person(person.person_id, {name: value})
            person.local[name] = value
            counts["localEdits"] += 1

        @rule(which=st.integers(0, LEADS + CONTACTS - 1), name=st.sampled_from(NAMES), value=VALUES)
        def edit_in_salesforce(self, which: int, name: str, value: str | None) -> None:
            counts["steps"] += 1
            person = self.people[which]
            if not person.alive:
                return
            api = FIELDS[person.obj][name]
            [result] = writes.update(
                world.org, world.admin, [(person.obj, person.sfdc_id, {api: value})]
            )
            assert result.as_json()["success"], result.as_json()
            person.remote[name] = value
            world.org.clock.advance(1)
            counts["salesforceEdits"] += 1

        @rule(
            which=st.integers(LEADS, LEADS + CONTACTS - 1),
            value=st.sampled_from(["Energy", "Retail"]),
        )
        def edit_company_locally(self, which: int, value: str) -> None:
            """A contact's company fields are its account's: Salesforce only, never pushed."""
            counts["steps"] += 1
            person = self.people[which]
            if person.alive and person.obj == "Contact":
                world.db.update_person(person.person_id, {"industry": value})
                counts["companyEdits"] += 1

        # -- structural changes in Salesforce ----------------------------------------------

        @rule(which=st.integers(0, LEADS - 1))
        def convert_in_salesforce(self, which: int) -> None:
            counts["steps"] += 1
            person = self.people[which]
            if not person.alive or person.obj != "Lead" or person.agree_only:
                return
            if person.local and CONVERT_LOSES_LOCAL_EDITS:
                return  # the known bug below, reproduced by its own strict xfail test
            [result] = convert_leads(
                world.org,
                world.admin,
                [LeadConvert(person.sfdc_id, "Closed - Converted", do_not_create_opportunity=True)],
            )
            assert result.success, result.errors
            person.obj, person.sfdc_id = "Contact", str(result.contact_id)
            self.account_industry[str(result.account_id)] = account_industries(world)[
                str(result.account_id)
            ]
            world.org.clock.advance(1)
            counts["conversions"] += 1

        @rule(master=st.integers(0, LEADS - 1), loser=st.integers(0, LEADS - 1))
        def merge_in_salesforce(self, master: int, loser: int) -> None:
            counts["steps"] += 1
            keep, gone = self.people[master], self.people[loser]
            if master == loser or not (keep.alive and gone.alive):
                return
            if keep.obj != "Lead" or gone.obj != "Lead":
                return
            [result] = merge_records(
                world.org, world.admin, [MergeRequest("Lead", keep.sfdc_id, (gone.sfdc_id,))]
            )
            assert result.success, result.errors
            gone.alive = False
            keep.agree_only = True  # what survives of two persons is for identity rules
            world.org.clock.advance(1)
            counts["merges"] += 1

        @rule(which=st.integers(0, LEADS + CONTACTS - 1))
        def delete_in_salesforce(self, which: int) -> None:
            counts["steps"] += 1
            person = self.people[which]
            if not person.alive:
                return
            [result] = writes.delete(world.org, world.admin, [person.sfdc_id])
            assert result.as_json()["success"], result.as_json()
            person.alive = False
            world.org.clock.advance(1)
            counts["deletes"] += 1

        # -- syncing -----------------------------------------------------------------------

        @rule(
            rate=st.sampled_from([0.0, 0.3, 0.6]),
            crash=st.sampled_from(["none", "before-local-commit", "stop-midway"]),
            seed=st.integers(0, 2**16),
            stop_at=st.integers(0, 4),
        )
        def sync_through_trouble(self, rate: float, crash: str, seed: int, stop_at: int) -> None:
            counts["steps"] += 1
            if rate:
                inject(world.org, rate, seed=seed)
            if crash == "before-local-commit":

                def crash_once(*args: Any, **kwargs: Any) -> None:
                    monkeypatch.setattr(push_module, "_move_baseline", real_move)
                    counts["crashesBeforeLocalCommit"] += 1
                    raise OSError("crash after the Salesforce write, before the local commit")

                monkeypatch.setattr(push_module, "_move_baseline", crash_once)
            elif crash == "stop-midway":
                stop_after[:] = [stop_at]
            for _ in range(2):
                status = world.cycle()
                if status == "Stopped":
                    counts["cyclesStoppedMidway"] += 1
            counts["faultsInjected"] += world.org.faults.total_injected
            world.org.faults.clear()
            stop_after.clear()
            monkeypatch.setattr(push_module, "_move_baseline", real_move)
            self.quiesce()

        def quiesce(self) -> None:
            statuses = [world.cycle(), world.cycle()]
            assert statuses[-1] == SUCCEEDED, statuses
            for person in self.people:
                person.settle()
            check(world, self.people, self.account_industry)
            counts["quiescences"] += 1

        def teardown(self) -> None:
            world.org.faults.clear()
            stop_after.clear()
            monkeypatch.setattr(push_module, "_move_baseline", real_move)

    run_state_machine_as_test(
        Model,
        settings=settings(
            max_examples=budget[0],
            stateful_step_count=budget[1],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            # Shrinking replays steps against an org the first run already changed.
            phases=[Phase.explicit, Phase.generate],
        ),
    )
    summary = dict(counts)
    print(f"\nconvergence model ({database.engine.dialect.name}): {summary}")
    for key, value in summary.items():
        record_property(key, value)
    assert counts["quiescences"] > 0


def fresh_people(world: World) -> list[Tracked]:
    """Open leads and contacts both sides agree on, not used by an earlier example."""
    world.org.clock.advance(2)
    assert world.syncer.run_cycle().status == SUCCEEDED
    used = world.counts["peopleUsed"]
    leads = world.reader.query(
        soql.select(
            "Lead", ["Id"], where="IsConverted = false AND IsDeleted = false", order_by=["Id"]
        )
    )
    contacts = world.reader.query(soql.select("Contact", ["Id"], order_by=["Id"]))
    # Rotate through what is still open, so examples (and replays) rarely share persons.
    picked = [("Lead", r["Id"]) for r in rotate(leads, used * LEADS, LEADS)]
    picked += [("Contact", r["Id"]) for r in rotate(contacts, used * CONTACTS, CONTACTS)]
    world.counts["peopleUsed"] += 1
    people = []
    for obj, sfdc_id in picked:
        [person] = world.db.find_persons(**{f"sfdc{obj}Id": sfdc_id})
        assert not person["sfdcIsDeleted"]
        values = {name: person[name] for name in NAMES}
        people.append(Tracked(int(person["id"]), obj, sfdc_id, values))
    assert len(people) == LEADS + CONTACTS
    return people


def rotate(items: list[dict[str, Any]], start: int, count: int) -> list[dict[str, Any]]:
    assert len(items) >= count
    return [items[(start + i) % len(items)] for i in range(count)]


def account_industries(world: World) -> dict[str, Any]:
    accounts = world.reader.query(soql.select("Account", ["Id", "Industry"]))
    return {r["Id"]: r["Industry"] for r in accounts}


def check(world: World, people: list[Tracked], industries: dict[str, Any]) -> None:
    for obj in FIELDS:
        alive = [p for p in people if p.alive and p.obj == obj]
        remote = sf_values(world.reader, obj, [p.sfdc_id for p in alive])
        for person in alive:
            local = world.db.get_person(person.person_id)
            assert local["sfdcId"] == person.sfdc_id and not local["sfdcIsDeleted"], local
            theirs = remote[person.sfdc_id]
            for name, api in FIELDS[obj].items():
                assert local[name] == theirs[api], (person, name, local[name], theirs[api])
                if not person.agree_only:
                    assert local[name] == person.values[name], (person, name, local[name])
    for person in people:
        if not person.alive:
            held = world.db.find_persons(**{f"sfdc{person.obj}Id": person.sfdc_id})
            assert all(p["sfdcIsDeleted"] or p["id"] != person.person_id for p in held), held
    now = account_industries(world)
    assert {k: now[k] for k in industries} == industries  # company fields never pushed


def test_a_local_edit_pending_when_salesforce_converts_the_lead_survives(
    org: Org,
    database: LeadDatabase,
    sync_client: SalesforceClient,
    admin_client: SalesforceClient,
) -> None:
    """The model's shortest path to a lost edit, without faults: a lead's city is edited in
    leadsync, the lead is converted in Salesforce before the next cycle; the city was not
    changed in Salesforce, so the local value must reach the new contact."""
    seed_demo(org, records=10)
    org.clock.freeze()
    org.clock.advance(3600)
    syncer = Syncer(database, sync_client, clock=org_clock(org))
    assert syncer.run_cycle().status == SUCCEEDED
    [lead] = admin_client.query(
        soql.select("Lead", ["Id", "City"], where="IsConverted = false", order_by=["Id"], limit=1)
    )
    [person] = database.find_persons(sfdcLeadId=lead["Id"])
    assert person["city"] == lead["City"] != "Edited Here"
    database.update_person(person["id"], {"city": "Edited Here"})
    user = org.find_user("admin@example.com")
    assert user is not None
    admin = org.sessions.issue(user.id, user.username, user.profile, "leadsync")
    [result] = convert_leads(
        org, admin, [LeadConvert(lead["Id"], "Closed - Converted", do_not_create_opportunity=True)]
    )
    assert result.success, result.errors
    for _ in range(2):
        org.clock.advance(2)
        assert syncer.run_cycle().status == SUCCEEDED
    local = database.get_person(person["id"])
    remote = sf_values(admin_client, "Contact", [str(result.contact_id)])[str(result.contact_id)]
    assert (local["sfdcContactId"], local["city"]) == (result.contact_id, "Edited Here")
    assert remote["MailingCity"] == "Edited Here"
