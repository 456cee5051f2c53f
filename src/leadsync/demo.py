"""`leadsync demo`: the sync's story on an embedded emulator, in a few scripted steps.

Like the CLI, and unlike the engine, this module may import the emulator: it starts one
in-process on a free port, then leadsync drives it over HTTP exactly as it would drive a real
org. Salesforce-side edits are made as the org's admin user through the same connector, the way
a sales rep's edits reach a real org.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from .cli_progress import copy_progress
from .db import LeadDatabase
from .db.types import utcnow
from .emulator.org import Org
from .emulator.seed import seed_demo
from .emulator.server import ServerThread
from .salesforce.auth import Credentials
from .salesforce.client import SalesforceClient
from .status import record_cycle, status_report
from .sync.actions import Actions
from .sync.cycle import CycleResult, Syncer

DEMO_CLIENT_ID = "leadsync"
DEMO_CLIENT_SECRET = "leadsync-secret"  # the emulator's documented, insecure demo secret
DEMO_PASSWORD = "password"


@dataclass
class Tour:
    """Everything the steps share: the local database, both Salesforce users, the engine."""

    out: Console
    db: LeadDatabase
    sync_user: SalesforceClient
    admin: SalesforceClient
    syncer: Syncer
    actions: Actions

    def cycle(self) -> CycleResult:
        result = self.syncer.run_cycle()
        limits = self.sync_user.usage
        record_cycle(self.db, result, org_used=limits.used, org_max=limits.maximum)
        return result

    def sf_get(self, sfdc_object: str, sfdc_id: str, fields: str) -> dict[str, Any]:
        body: dict[str, Any] = self.admin.request_json(
            "GET", f"sobjects/{sfdc_object}/{sfdc_id}", params={"fields": fields}
        )
        return body

    def sf_update(self, sfdc_object: str, sfdc_id: str, values: dict[str, Any]) -> None:
        self.admin.request("PATCH", f"sobjects/{sfdc_object}/{sfdc_id}", json=values)


def run(console: Console | None = None) -> int:
    """Run the story; returns the number of Salesforce API calls the sync user spent."""
    # Piped output (CI logs, `| tee`) gets room for the status table instead of 80 columns.
    out = console or Console(width=None if sys.stdout.isatty() else 100)
    org = Org()
    seed_demo(org)
    try:
        with (
            ServerThread(org) as server,
            httpx.Client(timeout=60) as http,
            tempfile.TemporaryDirectory(prefix="leadsync-demo-") as tmp,
            _database(Path(tmp) / "leadsync.db") as db,
        ):
            out.print(f"[bold]leadsync demo[/bold]: an embedded Salesforce org at {server.url}")
            sync_user = _client(server.url, "sync@example.com", http)
            admin = _client(server.url, "admin@example.com", http)
            syncer = Syncer(db, sync_user)
            tour = Tour(out, db, sync_user, admin, syncer, Actions(db, sync_user, syncer.pusher))
            for step in STEPS:
                step(tour)
            _final_status(tour)
            return sync_user.usage.calls
    finally:
        org.close()


@contextmanager
def _database(path: Path) -> Iterator[LeadDatabase]:
    db = LeadDatabase.open(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.close()


def _client(url: str, username: str, http: httpx.Client) -> SalesforceClient:
    credentials = Credentials(
        login_url=url,
        username=username,
        password=DEMO_PASSWORD,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
    )
    return SalesforceClient(credentials, http=http)


# -- the steps --------------------------------------------------------------------------------


def initial_copy(tour: Tour) -> None:
    with copy_progress(tour.syncer.puller, tour.out, enabled=tour.out.is_terminal):
        result = tour.cycle()
    copied = {r.object: r.new for r in result.objects if r.new}
    people = tour.db.find_persons()
    leads = sum(p["sfdcType"] == "Lead" for p in people)
    contacts = sum(p["sfdcType"] == "Contact" for p in people)
    tour.out.print(
        f"\n1. Initial copy: {leads} leads and {contacts} contacts became {len(people)} persons "
        f"({', '.join(f'{n} {name}' for name, n in copied.items())}), in "
        f"{_calls(result.api_calls)}."
    )


def salesforce_edit(tour: Tour) -> None:
    person = _first(tour, "Lead")
    tour.sf_update("Lead", person["sfdcLeadId"], {"Title": "Head of Analytics"})
    result = tour.cycle()
    title = tour.db.get_person(person["id"])["title"]
    tour.out.print(
        f"\n2. A rep retitles lead {_name(person)} in Salesforce; the next cycle "
        f"({_calls(result.api_calls)}) brings title = {title!r} into leadsync."
    )


def local_edit(tour: Tour) -> None:
    person = _first(tour, "Lead", offset=1)
    tour.db.update_person(person["id"], {"leadStatus": "Working - Contacted"})
    result = tour.cycle()
    remote = tour.sf_get("Lead", person["sfdcLeadId"], "Status")["Status"]
    tour.out.print(
        f"\n3. Marketing sets {_name(person)}'s lead status in leadsync; the cycle "
        f"({_calls(result.api_calls)}) pushes it: Salesforce now says Status = {remote!r}."
    )


def both_sides(tour: Tour) -> None:
    lead = _first(tour, "Lead", offset=2)
    contact = _first(tour, "Contact")
    tour.db.update_person(lead["id"], {"title": "VP Marketing (leadsync)"})
    tour.sf_update("Lead", lead["sfdcLeadId"], {"Title": "Director (Salesforce)"})
    tour.db.update_person(contact["id"], {"title": "CTO (leadsync)"})
    tour.sf_update("Contact", contact["sfdcContactId"], {"Title": "CFO (Salesforce)"})
    tour.cycle()
    lead_sf = tour.sf_get("Lead", lead["sfdcLeadId"], "Title")["Title"]
    contact_sf = tour.sf_get("Contact", contact["sfdcContactId"], "Title")["Title"]
    lead_local = tour.db.get_person(lead["id"])["title"]
    contact_local = tour.db.get_person(contact["id"])["title"]
    tour.out.print(
        "\n4. The same field edited on both sides between two cycles:\n"
        f"   lead {_name(lead)}: leadsync {lead_local!r}, Salesforce {lead_sf!r} "
        "(lead fields: marketing wins)\n"
        f"   contact {_name(contact)}: leadsync {contact_local!r}, Salesforce {contact_sf!r} "
        "(contact fields: Salesforce wins); both conflicts are kept in sync_conflicts."
    )


def account_fanout(tour: Tour) -> None:
    contact = _first(tour, "Contact")
    account_id = contact["sfdcAccountId"]
    industry = "Energy" if contact["industry"] == "Biotechnology" else "Biotechnology"
    tour.sf_update("Account", account_id, {"Industry": industry})
    tour.cycle()
    colleagues = tour.db.find_persons(sfdcAccountId=account_id)
    moved = sum(p["industry"] == industry for p in colleagues)
    logged = sum(
        1
        for p in colleagues
        for a in tour.db.list_activities(p["id"], types=["Change Data Value"])
        if a["attributes"].get("field") == "industry"
    )
    tour.out.print(
        f"\n5. An account's industry changes in Salesforce: {moved} of its {len(colleagues)} "
        f"contacts show industry = {industry!r}, each with a Change Data Value activity "
        f"({logged} in all)."
    )


def rejected_push(tour: Tour) -> None:
    person = _first(tour, "Lead", offset=3)
    neighbour = _first(tour, "Lead", offset=4)
    tour.db.update_person(person["id"], {"phone": "call me maybe"})
    tour.db.update_person(neighbour["id"], {"phone": "+1 415 555 0199"})
    tour.cycle()
    neighbour_phone = tour.sf_get("Lead", neighbour["sfdcLeadId"], "Phone")["Phone"]
    [error] = [e for e in tour.db.list_sync_errors() if e["personId"] == person["id"]]
    failed = [
        a
        for a in tour.db.list_activities(person["id"], types=["Sync Lead to SFDC"])
        if a["attributes"].get("success") is False
    ]
    tour.out.print(
        f"\n6. Marketing types phone = 'call me maybe' for {_name(person)}; Salesforce's "
        f"validation rule refuses it with {error['code']} on {error['fields']}. The person "
        f"keeps the value, gets a failed 'Sync Lead to SFDC' activity ({len(failed)}), and "
        f"the error is listed by `leadsync errors`. The same push took {_name(neighbour)}'s "
        f"new phone through: Salesforce says {neighbour_phone!r}."
    )


def sync_and_convert(tour: Tour) -> None:
    person = tour.db.create_person(
        {
            "email": "grace.hopper@example.com",
            "firstName": "Grace",
            "lastName": "Hopper",
            "company": "Compiler Labs",
            "title": "Rear Admiral",
        }
    )
    synced = tour.actions.sync_person(person["id"])
    converted = tour.actions.convert_person(person["id"], opportunity_name="Compiler Labs - COBOL")
    tour.out.print(
        f"\n7. A new person, {_name(person)}, is sent with Sync Person to SFDC: lead "
        f"{synced['sfdcLeadId']} (owner by the org's assignment rule). Convert Person then "
        f"makes contact {converted['sfdcContactId']} of account {converted['sfdcAccountId']} "
        f"with an opportunity; still one person (id {converted['id']}), now a "
        f"{converted['sfdcType']}."
    )


STEPS: tuple[Callable[[Tour], None], ...] = (
    initial_copy,
    salesforce_edit,
    local_edit,
    both_sides,
    account_fanout,
    rejected_push,
    sync_and_convert,
)


def _final_status(tour: Tour) -> None:
    from .cli_sync import print_status

    tour.out.print("\n[bold]leadsync status[/bold]")
    # The status table needs more room than the story's prose when the output is piped.
    wide = tour.out if tour.out.is_terminal else Console(width=140, file=tour.out.file)
    print_status(status_report(tour.db, now=utcnow(), budget_share=1.0), wide)
    tour.out.print(f"\nSalesforce API calls used: [bold]{tour.sync_user.usage.calls}[/bold]")


def _first(tour: Tour, sfdc_type: str, *, offset: int = 0) -> dict[str, Any]:
    """A deterministic person of that type with a name and an email (the seed is fixed)."""
    found = [
        p
        for p in tour.db.find_persons(sfdcType=sfdc_type)
        if p["email"] and p["lastName"] and (sfdc_type == "Lead" or p["sfdcAccountId"])
    ]
    return found[offset]


def _name(person: dict[str, Any]) -> str:
    return " ".join(filter(None, (person.get("firstName"), person.get("lastName"))))


def _calls(count: int) -> str:
    return f"{count} API call" + ("" if count == 1 else "s")
