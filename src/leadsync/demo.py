"""`leadsync demo`: a short, scripted tour on an embedded emulator (part of the CLI shell).

Like the CLI, and unlike the engine, this module may import the emulator: it starts one
in-process, then drives it only through leadsync's Salesforce connector, over HTTP, exactly as
leadsync would drive a real org.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from rich.console import Console
from rich.table import Table

from .emulator.org import Org
from .emulator.seed import seed_demo
from .emulator.server import ServerThread
from .salesforce import collections, soql
from .salesforce.auth import Credentials
from .salesforce.client import SalesforceClient
from .salesforce.describe import DescribeCache
from .salesforce.soap import LeadConvert, convert_leads

DEMO_CLIENT_ID = "leadsync"
DEMO_CLIENT_SECRET = "leadsync-secret"
DEMO_PASSWORD = "password"
OBJECTS = ("Lead", "Contact", "Account", "Opportunity", "Campaign", "CampaignMember", "Task")


def run(console: Console | None = None) -> int:
    """Run the tour; returns the number of Salesforce API calls it used."""
    out = console or Console()
    org = Org()
    seed_demo(org)
    with ServerThread(org) as server, httpx.Client(timeout=60) as http:
        out.print(f"[bold]leadsync demo[/bold] — embedded Salesforce org at {server.url}")
        client = SalesforceClient(
            Credentials(
                login_url=server.url,
                username="sync@example.com",
                password=DEMO_PASSWORD,
                client_id=DEMO_CLIENT_ID,
                client_secret=DEMO_CLIENT_SECRET,
            ),
            http=http,
        )
        for step in _steps():
            step(client, out)
        out.print(f"\nSalesforce API calls used: [bold]{client.usage.calls}[/bold]")
        calls = client.usage.calls
    org.close()
    return calls


def _steps() -> list[Callable[[SalesforceClient, Console], None]]:
    return [_counts, _field_security, _idempotent_upsert, _validation_failure, _conversion]


def _counts(client: SalesforceClient, out: Console) -> None:
    table = Table(title="What the sync user can see", show_edge=False)
    table.add_column("object")
    table.add_column("records", justify="right")
    for name in OBJECTS:
        body = client.get_json("query", {"q": f"SELECT COUNT() FROM {soql.identifier(name)}"})
        table.add_row(name, str(body["totalSize"]))
    out.print(table)


def _field_security(client: SalesforceClient, out: Console) -> None:
    fields = DescribeCache(client).fields("Lead")
    hidden = "Internal_Notes__c" not in fields
    out.print(
        f"\n1. Field-level security: the sync user sees {len(fields)} Lead fields; "
        f"Internal_Notes__c is {'hidden' if hidden else 'VISIBLE'} from it."
    )


def _idempotent_upsert(client: SalesforceClient, out: Console) -> None:
    person_id = str(uuid.uuid4())
    record = {
        "LeadSync_Id__c": person_id,
        "FirstName": "Grace",
        "LastName": "Hopper",
        "Company": "Navy Labs",
        "Email": "grace@example.com",
    }
    first = collections.upsert(client, "Lead", "LeadSync_Id__c", [record])[0]
    again = collections.upsert(client, "Lead", "LeadSync_Id__c", [record])[0]
    out.print(
        f"\n2. Idempotent create: upsert on LeadSync_Id__c made lead {first.id} "
        f"(created={first.created}); the retry found it (created={again.created}, "
        f"same id: {again.id == first.id})."
    )


def _validation_failure(client: SalesforceClient, out: Console) -> None:
    good = {
        "LeadSync_Id__c": str(uuid.uuid4()),
        "LastName": "Lovelace",
        "Company": "Analytical",
        "Phone": "+44 20 7946 0000",
    }
    bad = {
        "LeadSync_Id__c": str(uuid.uuid4()),
        "LastName": "Babbage",
        "Company": "Engines",
        "Phone": "call me maybe",
    }
    results = collections.upsert(client, "Lead", "LeadSync_Id__c", [good, bad])
    saved = sum(r.success for r in results)
    failed = next(r for r in results if not r.success)
    out.print(
        f"\n3. Validation rules hold: {saved} of 2 leads saved; the other was refused with "
        f'{failed.error_code} on {failed.error_fields}: "{failed.error_message}".'
    )


def _conversion(client: SalesforceClient, out: Console) -> None:
    [lead] = client.query(
        "SELECT Id, Name, Company FROM Lead WHERE IsConverted = false AND Email != null "
        "ORDER BY CreatedDate LIMIT 1"
    )
    [result] = convert_leads(
        client, [LeadConvert(lead_id=lead["Id"], converted_status="Closed - Converted")]
    )
    out.print(
        f"\n4. Lead conversion (SOAP convertLead): {lead['Name']} of {lead['Company']} became "
        f"contact {result.contact_id}, account {result.account_id} and opportunity "
        f"{result.opportunity_id}."
    )
