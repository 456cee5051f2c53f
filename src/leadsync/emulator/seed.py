"""The demo seed: a realistic, deterministic org (`leadsync emulator --seed demo`).

Small objects (reps, accounts, contacts, opportunities, campaigns, activities) go through
`dml.system_insert`. Leads can number a million, so `seed_leads` generates them column by
column and inserts them in chunks with `executemany`. Everything happens in one write
transaction: a seed is all there or not at all.

Everything derives from a fixed `random.Random` seed and the org clock, so two orgs seeded at
the same (frozen) time hold identical data. A database remembers that it was seeded
(`_emu_meta`), so restarting on the same `--db` never duplicates records.
"""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import seed_pools as pools
from .dml import system_insert
from .seed_leads import LeadBatch, company_name, insert_leads
from .standard_objects import INDUSTRIES, LEAD_SOURCES, OPPORTUNITY_STAGES, RATINGS

if TYPE_CHECKING:
    from .org import Org

SEED_KINDS = ("demo", "empty")
DEFAULT_LEADS = 200
CHUNK_SIZE = 50_000
RANDOM_SEED = 20261123
META_KEY = "seed"
DAY = 86_400


class SeedError(ValueError):
    """A seed request that cannot be honoured (unknown kind, negative size)."""


@dataclass
class SeedSummary:
    kind: str
    skipped: bool = False
    seconds: float = 0.0
    created: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "empty":
            return "empty org (bootstrap rows only)"
        if self.skipped:
            return "already seeded; nothing added"
        parts = ", ".join(f"{count:,} {name}" for name, count in self.created.items() if count)
        return f"seeded {parts} in {self.seconds:.1f}s"


def seed_org(
    org: Org, kind: str = "demo", *, records: int | None = None, chunk_size: int = CHUNK_SIZE
) -> SeedSummary:
    """Seed `org` once. `records` is the number of leads (default DEFAULT_LEADS)."""
    if kind not in SEED_KINDS:
        raise SeedError(f"unknown seed {kind!r}; choose one of: {', '.join(SEED_KINDS)}")
    leads = DEFAULT_LEADS if records is None else records
    if leads < 0:
        raise SeedError("--records must be zero or more")
    summary = SeedSummary(kind)
    if kind == "empty":
        return summary
    if org.store.meta_get(META_KEY) is not None:
        summary.skipped = True
        return summary
    started = time.perf_counter()
    with org.store.write() as conn:
        _DemoSeed(org, conn, leads, chunk_size, summary.created).run()
        org.store.meta_set(conn, META_KEY, f"demo:{leads}")
    summary.seconds = time.perf_counter() - started
    return summary


def seed_demo(org: Org, records: int | None = None) -> SeedSummary:
    """The demo org's records (`records` leads; DEFAULT_LEADS when None)."""
    return seed_org(org, "demo", records=records)


def _date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


class _DemoSeed:
    """One run of the demo seed inside one write transaction."""

    def __init__(
        self,
        org: Org,
        conn: sqlite3.Connection,
        leads: int,
        chunk_size: int,
        created: dict[str, int],
    ) -> None:
        self.org = org
        self.conn = conn
        self.leads = leads
        self.chunk_size = max(1, chunk_size)
        self.created = created
        self.rng = random.Random(RANDOM_SEED)
        self.now = org.clock.now()
        self.admin_id = org.default_user_id()
        self.rep_ids: list[str] = []
        self.accounts: list[tuple[str, str, str]] = []  # (id, name, owner)
        self.contacts: list[tuple[str, str]] = []  # (id, account id)
        self.sample_leads: list[str] = []

    def run(self) -> None:
        self.rep_ids = self._reps()
        self._accounts_and_contacts()
        self._opportunities()
        self._leads()
        self._campaigns()
        self._activities()
        self._product_interests()
        self._convert_some_leads()

    def _insert(self, object_name: str, rows: list[dict[str, Any]], at: int) -> list[str]:
        if not rows or self.org.schema.get(object_name) is None:
            return []
        ids = system_insert(self.org, object_name, rows, now=at, user_id=self.admin_id)
        self.created[object_name] = self.created.get(object_name, 0) + len(ids)
        return ids

    def _past(self, days_from: int, days_to: int) -> int:
        """A whole-second moment between `days_from` and `days_to` days ago."""
        return self.now - self.rng.randrange(days_to * DAY, days_from * DAY)

    # -- users and accounts -----------------------------------------------------------------

    def _reps(self) -> list[str]:
        row = self.conn.execute('SELECT "ProfileId" FROM "User" ORDER BY "Id" LIMIT 1').fetchone()
        profile_id = row[0] if row else None
        rows = [
            {
                "Username": f"{first}.{last}@example.com".lower(),
                "FirstName": first,
                "LastName": last,
                "Email": f"{first}.{last}@example.com".lower(),
                "Alias": (first[:1] + last[:4]).lower(),
                "Title": title,
                "Department": "Sales",
                "CompanyName": "leadsync Demo",
                "IsActive": 1,
                "ProfileId": profile_id,
            }
            for first, last, title in pools.REP_USERS
        ]
        return self._insert("User", rows, self.now - 400 * DAY)

    def _accounts_and_contacts(self) -> None:
        rng = self.rng
        account_rows: list[dict[str, Any]] = []
        domains = []
        for n in range(20):
            name, domain = company_name(n * 3 + 1)
            city, state, postal, country, area = rng.choice(pools.PLACES)
            account_rows.append(
                {
                    "Name": name,
                    "Type": rng.choice(
                        ["Prospect", "Customer - Direct", "Customer - Channel", "Partner"]
                    ),
                    "Industry": rng.choice(INDUSTRIES),
                    "BillingStreet": f"{rng.choice(pools.STREET_NUMBERS)} "
                    f"{rng.choice(pools.STREETS)}",
                    "BillingCity": city,
                    "BillingState": state,
                    "BillingPostalCode": postal,
                    "BillingCountry": country,
                    "Phone": f"+{area} 555 {rng.randrange(1000, 9999)}",
                    "Website": f"https://www.{domain}",
                    "AccountNumber": f"AC-{10000 + n}",
                    "AnnualRevenue": float(rng.choice([5, 12, 40, 150, 900]) * 1_000_000),
                    "NumberOfEmployees": rng.choice([25, 80, 250, 1200, 15000]),
                    "Rating": rng.choice(RATINGS),
                    "OwnerId": self.rep_ids[n % len(self.rep_ids)],
                }
            )
            domains.append(domain)
        ids = self._insert("Account", account_rows, self._past(365, 300))
        self.accounts = [
            (i, str(row["Name"]), str(row["OwnerId"]))
            for i, row in zip(ids, account_rows, strict=True)
        ]
        contact_rows: list[dict[str, Any]] = []
        account_of = []
        for n, (account_id, _name, owner) in enumerate(self.accounts):
            # The first account is the large one: real orgs have a few of those.
            size = 40 if n == 0 else rng.randint(3, 8)
            billing = account_rows[n]
            for _ in range(size):
                first = rng.choice(pools.FIRST_NAMES)
                last = rng.choice(pools.LAST_NAMES)
                contact_rows.append(
                    {
                        "AccountId": account_id,
                        "Salutation": rng.choice(["Mr.", "Ms.", "Dr.", None]),
                        "FirstName": first,
                        "LastName": last,
                        "Email": f"{first}.{last}{len(contact_rows)}@{domains[n]}".lower().replace(
                            "'", ""
                        ),
                        "Phone": f"{billing['Phone'][:-4]}{rng.randrange(1000, 9999)}",
                        "Title": rng.choice([t for t in pools.TITLES if t]),
                        "Department": rng.choice(pools.DEPARTMENTS),
                        "LeadSource": rng.choice(LEAD_SOURCES),
                        "MailingCity": billing["BillingCity"],
                        "MailingState": billing["BillingState"],
                        "MailingPostalCode": billing["BillingPostalCode"],
                        "MailingCountry": billing["BillingCountry"],
                        "Lead_Score__c": float(rng.randrange(0, 101)),
                        "OwnerId": owner,
                    }
                )
                account_of.append(account_id)
        self._drop_unknown_fields("Contact", contact_rows)
        contact_ids = self._insert("Contact", contact_rows, self._past(300, 200))
        self.contacts = list(zip(contact_ids, account_of, strict=True))

    def _drop_unknown_fields(self, object_name: str, rows: list[dict[str, Any]]) -> None:
        """Custom org files may lack the demo's custom fields; leave those values out."""
        obj = self.org.schema.get(object_name)
        if obj is None or not rows:
            return
        unknown = [name for name in rows[0] if obj.field(name) is None]
        for row in rows:
            for name in unknown:
                row.pop(name, None)

    def _opportunities(self) -> None:
        rng = self.rng
        rows = []
        for account_id, name, owner in self.accounts:
            for _ in range(rng.randint(1, 3)):
                stage = rng.choice(OPPORTUNITY_STAGES)
                closed = stage.startswith("Closed")
                close_at = self.now + rng.randrange(-120, 120) * DAY
                rows.append(
                    {
                        "AccountId": account_id,
                        "Name": f"{name} - {rng.choice(pools.PRODUCTS)}",
                        "StageName": stage,
                        "Amount": float(rng.randrange(5, 500) * 1000),
                        "Probability": float(
                            100
                            if stage == "Closed Won"
                            else 0
                            if closed
                            else (OPPORTUNITY_STAGES.index(stage) + 1) * 15
                        ),
                        "CloseDate": _date(close_at),
                        "Type": rng.choice(["New Customer", "Existing Customer - Upgrade"]),
                        "LeadSource": rng.choice(LEAD_SOURCES),
                        "IsClosed": 1 if closed else 0,
                        "IsWon": 1 if stage == "Closed Won" else 0,
                        "OwnerId": owner,
                    }
                )
        ids = self._insert("Opportunity", rows, self._past(200, 150))
        by_account: dict[str, list[str]] = {}
        for contact_id, account_id in self.contacts:
            by_account.setdefault(account_id, []).append(contact_id)
        roles = []
        for opportunity_id, row in zip(ids, rows, strict=True):
            people = by_account.get(str(row["AccountId"]), [])
            for position, contact_id in enumerate(rng.sample(people, min(len(people), 3))):
                roles.append(
                    {
                        "OpportunityId": opportunity_id,
                        "ContactId": contact_id,
                        "Role": "Decision Maker"
                        if position == 0
                        else rng.choice(
                            ["Business User", "Economic Buyer", "Influencer", "Technical Buyer"]
                        ),
                        "IsPrimary": 1 if position == 0 else 0,
                    }
                )
        self._insert("OpportunityContactRole", roles, self._past(150, 140))

    # -- leads ------------------------------------------------------------------------------

    def _leads(self) -> None:
        obj = self.org.schema.get("Lead")
        if obj is None or self.leads == 0:
            return
        queue = self.conn.execute(
            'SELECT "Id" FROM "Group" WHERE "Type" = \'Queue\' ORDER BY "Id" LIMIT 1'
        ).fetchone()
        owners = self.rep_ids + ([queue[0]] if queue else [])
        self.sample_leads = insert_leads(
            LeadBatch(
                store=self.org.store,
                conn=self.conn,
                obj=obj,
                count=self.leads,
                chunk_size=self.chunk_size,
                owners=owners or [self.admin_id],
                actor=self.admin_id,
                now=self.now,
            ),
            self.rng,
            samples=300,
        )
        self.created["Lead"] = self.leads

    # -- campaigns, activities, custom records ----------------------------------------------

    def _campaigns(self) -> None:
        rng = self.rng
        rows: list[dict[str, Any]] = []
        for name, kind, status in pools.CAMPAIGNS:
            start = self.now + rng.randrange(-200, 30) * DAY
            rows.append(
                {
                    "Name": name,
                    "Type": kind,
                    "Status": status,
                    "StartDate": _date(start),
                    "EndDate": _date(start + 30 * DAY),
                    "BudgetedCost": float(rng.randrange(2, 50) * 1000),
                    "ActualCost": float(rng.randrange(1, 40) * 1000)
                    if status != "Planned"
                    else None,
                    "IsActive": 1 if status == "In Progress" else 0,
                    "OwnerId": self.rep_ids[len(rows) % len(self.rep_ids)],
                }
            )
        campaign_ids = self._insert("Campaign", rows, self._past(250, 200))
        statuses = []
        for campaign_id in campaign_ids:
            statuses.append(
                {
                    "CampaignId": campaign_id,
                    "Label": "Sent",
                    "IsDefault": 1,
                    "HasResponded": 0,
                    "SortOrder": 1,
                }
            )
            statuses.append(
                {
                    "CampaignId": campaign_id,
                    "Label": "Responded",
                    "IsDefault": 0,
                    "HasResponded": 1,
                    "SortOrder": 2,
                }
            )
        self._insert("CampaignMemberStatus", statuses, self._past(200, 190))
        members = []
        for campaign_id in campaign_ids:
            people = [
                ("LeadId", i)
                for i in rng.sample(self.sample_leads, min(len(self.sample_leads), 40))
            ]
            people += [
                ("ContactId", c) for c, _a in rng.sample(self.contacts, min(len(self.contacts), 12))
            ]
            for key, person in people:
                responded = rng.random() < 0.3
                members.append(
                    {
                        "CampaignId": campaign_id,
                        "LeadId": person if key == "LeadId" else None,
                        "ContactId": person if key == "ContactId" else None,
                        "Status": "Responded" if responded else "Sent",
                        "HasResponded": 1 if responded else 0,
                        "FirstRespondedDate": _date(self._past(60, 1)) if responded else None,
                    }
                )
        self._insert("CampaignMember", members, self._past(60, 30))

    def _activities(self) -> None:
        rng = self.rng
        account_of = dict(self.contacts)
        who = self.sample_leads[:150] + [c for c, _a in self.contacts]
        tasks = []
        events = []
        for n, person in enumerate(who):
            what = account_of.get(person)
            owner = self.rep_ids[n % len(self.rep_ids)]
            done = rng.random() < 0.6
            tasks.append(
                {
                    "WhoId": person,
                    "WhatId": what,
                    "Subject": rng.choice(pools.TASK_SUBJECTS),
                    "ActivityDate": _date(self._past(30, 0) + rng.randrange(0, 20) * DAY),
                    "Status": "Completed" if done else rng.choice(["Not Started", "In Progress"]),
                    "Priority": rng.choice(["High", "Normal", "Normal", "Low"]),
                    "IsClosed": 1 if done else 0,
                    "Type": rng.choice(["Call", "Email", "Other"]),
                    "TaskSubtype": rng.choice(["Task", "Call", "Email"]),
                    "OwnerId": owner,
                }
            )
            if n % 3 == 0:
                # Meetings start on the hour, some past and some upcoming.
                begins = (self.now // 3600 + rng.randrange(-20 * 24, 20 * 24)) * 3600
                minutes = rng.choice([30, 45, 60, 90])
                events.append(
                    {
                        "WhoId": person,
                        "WhatId": what,
                        "Subject": rng.choice(pools.EVENT_SUBJECTS),
                        "ActivityDateTime": begins,
                        "StartDateTime": begins,
                        "EndDateTime": begins + minutes * 60,
                        "DurationInMinutes": minutes,
                        "ActivityDate": _date(begins),
                        "Type": "Meeting",
                        "Location": rng.choice(["Zoom", "Teams", "Customer office", "HQ"]),
                        "IsAllDayEvent": 0,
                        "OwnerId": owner,
                    }
                )
        self._insert("Task", tasks, self._past(30, 1))
        self._insert("Event", events, self._past(30, 1))

    def _product_interests(self) -> None:
        if self.org.schema.get("Product_Interest__c") is None:
            return
        rng = self.rng
        rows = [
            {
                "Name": f"{product} interest",
                "Lead__c": lead_id,
                "Product__c": product,
                "Interest_Level__c": rng.randint(1, 5),
                "OwnerId": self.rep_ids[n % len(self.rep_ids)],
            }
            for n, lead_id in enumerate(self.sample_leads[:200])
            for product in [rng.choice(pools.PRODUCTS)]
        ]
        self._drop_unknown_fields("Product_Interest__c", rows)
        self._insert("Product_Interest__c", rows, self._past(20, 1))

    def _convert_some_leads(self) -> None:
        """A few leads were already converted into the seeded contacts, as in any live org."""
        candidates = self.sample_leads[-3:] if len(self.sample_leads) > 3 else []
        for lead_id, (contact_id, account_id) in zip(candidates, self.contacts[1:4], strict=False):
            stamp = self.now - self.rng.randrange(0, 3600)
            # MAX(): a lead created within the last hour cannot be modified before it existed.
            self.conn.execute(
                'UPDATE "Lead" SET "IsConverted" = 1, "Status" = ?, "ConvertedDate" = ?, '
                '"ConvertedAccountId" = ?, "ConvertedContactId" = ?, '
                '"LastModifiedDate" = MAX("CreatedDate", ?), '
                '"SystemModstamp" = MAX("CreatedDate", ?) WHERE "Id" = ?',
                ("Closed - Converted", _date(stamp), account_id, contact_id, stamp, stamp, lead_id),
            )
