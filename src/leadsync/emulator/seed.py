"""The demo seed: a realistic, deterministic org (`leadsync emulator --seed demo`).

Small objects (reps, accounts, contacts, opportunities, campaigns, activities) go through
`dml.system_insert`. Leads can number a million, so they are generated column by column:
each column cycles a precomputed, randomly drawn pattern whose length is a distinct prime, so
rows vary like random data while a chunk costs a few list slices instead of per-row Python
calls. Rows are inserted with `executemany` in one write transaction.

Everything derives from a fixed `random.Random` seed and the org clock, so two orgs seeded at
the same (frozen) time hold identical data. A database remembers that it was seeded
(`_emu_meta`), so restarting on the same `--db` never duplicates records.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import seed_pools as pools
from .dml import system_insert
from .standard_objects import INDUSTRIES, LEAD_SOURCES, OPPORTUNITY_STAGES, RATINGS
from .store import quote

if TYPE_CHECKING:
    from .org import Org

SEED_KINDS = ("demo", "empty")
DEFAULT_LEADS = 200
CHUNK_SIZE = 50_000
RANDOM_SEED = 20261123
META_KEY = "seed"
DAY = 86_400
LEAD_SPAN_DAYS = 120
# Leads created in the same second: paging and incremental sync must cope with ties.
ROWS_PER_SECOND = 4
# Above this many leads, rebuilding Lead's indexes once beats updating them row by row.
REINDEX_THRESHOLD = 100_000
# Distinct primes: patterns of these lengths rarely line up, so columns combine freely.
_PRIMES = (
    10007, 10009, 10037, 10039, 10061, 10067, 10069, 10079, 10091, 10093, 10099, 10103,
    10111, 10133, 10139, 10141, 10151, 10159, 10163, 10169, 10177, 10181, 10193, 10211,
)


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


def seed_org(org: Org, kind: str = "demo", *, records: int | None = None,
             chunk_size: int = CHUNK_SIZE) -> SeedSummary:
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


def cycle(pattern: Sequence[Any], start: int, count: int) -> list[Any]:
    """`count` items of `pattern` repeated endlessly, beginning at position `start`."""
    size = len(pattern)
    offset = start % size
    repeats = (offset + count) // size + 1
    return (list(pattern) * repeats)[offset : offset + count]


def _date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


class _DemoSeed:
    """One run of the demo seed inside one write transaction."""

    def __init__(self, org: Org, conn: sqlite3.Connection, leads: int, chunk_size: int,
                 created: dict[str, int]) -> None:
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
        row = self.conn.execute(
            'SELECT "ProfileId" FROM "User" ORDER BY "Id" LIMIT 1'
        ).fetchone()
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
        account_rows = []
        domains = []
        for n in range(20):
            name, domain = _company_name(n * 3 + 1)
            city, state, postal, country, area = rng.choice(pools.PLACES)
            account_rows.append({
                "Name": name,
                "Type": rng.choice(["Prospect", "Customer - Direct", "Customer - Channel",
                                    "Partner"]),
                "Industry": rng.choice(INDUSTRIES),
                "BillingStreet": f"{rng.choice(pools.STREET_NUMBERS)} "
                                 f"{rng.choice(pools.STREETS)}",
                "BillingCity": city, "BillingState": state, "BillingPostalCode": postal,
                "BillingCountry": country,
                "Phone": f"+{area} 555 {rng.randrange(1000, 9999)}",
                "Website": f"https://www.{domain}",
                "AccountNumber": f"AC-{10000 + n}",
                "AnnualRevenue": float(rng.choice([5, 12, 40, 150, 900]) * 1_000_000),
                "NumberOfEmployees": rng.choice([25, 80, 250, 1200, 15000]),
                "Rating": rng.choice(RATINGS),
                "OwnerId": self.rep_ids[n % len(self.rep_ids)],
            })
            domains.append(domain)
        ids = self._insert("Account", account_rows, self._past(365, 300))
        self.accounts = [
            (i, row["Name"], row["OwnerId"]) for i, row in zip(ids, account_rows, strict=True)
        ]
        contact_rows = []
        account_of = []
        for n, (account_id, _name, owner) in enumerate(self.accounts):
            # The first account is the large one: real orgs have a few of those.
            size = 40 if n == 0 else rng.randint(3, 8)
            billing = account_rows[n]
            for _ in range(size):
                first = rng.choice(pools.FIRST_NAMES)
                last = rng.choice(pools.LAST_NAMES)
                contact_rows.append({
                    "AccountId": account_id,
                    "Salutation": rng.choice(["Mr.", "Ms.", "Dr.", None]),
                    "FirstName": first,
                    "LastName": last,
                    "Email": f"{first}.{last}{len(contact_rows)}@{domains[n]}"
                             .lower().replace("'", ""),
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
                })
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
                rows.append({
                    "AccountId": account_id,
                    "Name": f"{name} - {rng.choice(pools.PRODUCTS)}",
                    "StageName": stage,
                    "Amount": float(rng.randrange(5, 500) * 1000),
                    "Probability": float(100 if stage == "Closed Won" else 0 if closed
                                         else (OPPORTUNITY_STAGES.index(stage) + 1) * 15),
                    "CloseDate": _date(close_at),
                    "Type": rng.choice(["New Customer", "Existing Customer - Upgrade"]),
                    "LeadSource": rng.choice(LEAD_SOURCES),
                    "IsClosed": 1 if closed else 0,
                    "IsWon": 1 if stage == "Closed Won" else 0,
                    "OwnerId": owner,
                })
        ids = self._insert("Opportunity", rows, self._past(200, 150))
        by_account: dict[str, list[str]] = {}
        for contact_id, account_id in self.contacts:
            by_account.setdefault(account_id, []).append(contact_id)
        roles = []
        for opportunity_id, row in zip(ids, rows, strict=True):
            people = by_account.get(row["AccountId"], [])
            for position, contact_id in enumerate(rng.sample(people, min(len(people), 3))):
                roles.append({
                    "OpportunityId": opportunity_id,
                    "ContactId": contact_id,
                    "Role": "Decision Maker" if position == 0 else rng.choice(
                        ["Business User", "Economic Buyer", "Influencer", "Technical Buyer"]),
                    "IsPrimary": 1 if position == 0 else 0,
                })
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
        patterns = _LeadPatterns(self.rng, owners or [self.admin_id])
        sample_every = max(1, self.leads // 300)
        indexes = self._drop_indexes("Lead") if self.leads >= REINDEX_THRESHOLD else []
        clusters = -(-self.leads // ROWS_PER_SECOND)
        gap = max(1, LEAD_SPAN_DAYS * DAY // clusters)
        first_second = self.now - clusters * gap
        for start in range(0, self.leads, self.chunk_size):
            count = min(self.chunk_size, self.leads - start)
            ids = self.org.store.allocate_ids(self.conn, obj.key_prefix, count)
            values = patterns.chunk(start, count, ids, first_second, gap, self.now,
                                    self.admin_id)
            columns = _insert_columns(obj, values)
            sql = (f'INSERT INTO "Lead" ({", ".join(quote(c) for c in columns)}) '
                   f'VALUES ({", ".join("?" for _ in columns)})')
            self.conn.executemany(sql, zip(*columns.values(), strict=False))
            self.sample_leads.extend(ids[(-start) % sample_every :: sample_every])
        for statement in indexes:
            self.conn.execute(statement)
        self.created["Lead"] = self.leads

    def _drop_indexes(self, table: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL", (table,)
        ).fetchall()
        for name, _sql in rows:
            self.conn.execute(f"DROP INDEX {quote(name)}")
        return [str(sql) for _name, sql in rows]

    # -- campaigns, activities, custom records ----------------------------------------------

    def _campaigns(self) -> None:
        rng = self.rng
        rows = []
        for name, kind, status in pools.CAMPAIGNS:
            start = self.now + rng.randrange(-200, 30) * DAY
            rows.append({
                "Name": name, "Type": kind, "Status": status,
                "StartDate": _date(start), "EndDate": _date(start + 30 * DAY),
                "BudgetedCost": float(rng.randrange(2, 50) * 1000),
                "ActualCost": float(rng.randrange(1, 40) * 1000) if status != "Planned" else None,
                "IsActive": 1 if status == "In Progress" else 0,
                "OwnerId": self.rep_ids[len(rows) % len(self.rep_ids)],
            })
        campaign_ids = self._insert("Campaign", rows, self._past(250, 200))
        statuses = []
        for campaign_id in campaign_ids:
            statuses.append({"CampaignId": campaign_id, "Label": "Sent", "IsDefault": 1,
                             "HasResponded": 0, "SortOrder": 1})
            statuses.append({"CampaignId": campaign_id, "Label": "Responded", "IsDefault": 0,
                             "HasResponded": 1, "SortOrder": 2})
        self._insert("CampaignMemberStatus", statuses, self._past(200, 190))
        members = []
        for campaign_id in campaign_ids:
            people = [("LeadId", i) for i in rng.sample(self.sample_leads,
                                                        min(len(self.sample_leads), 40))]
            people += [("ContactId", c) for c, _a in rng.sample(self.contacts,
                                                                min(len(self.contacts), 12))]
            for key, person in people:
                responded = rng.random() < 0.3
                members.append({
                    "CampaignId": campaign_id,
                    "LeadId": person if key == "LeadId" else None,
                    "ContactId": person if key == "ContactId" else None,
                    "Status": "Responded" if responded else "Sent",
                    "HasResponded": 1 if responded else 0,
                    "FirstRespondedDate": _date(self._past(60, 1)) if responded else None,
                })
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
            tasks.append({
                "WhoId": person, "WhatId": what, "Subject": rng.choice(pools.TASK_SUBJECTS),
                "ActivityDate": _date(self._past(30, 0) + rng.randrange(0, 20) * DAY),
                "Status": "Completed" if done else rng.choice(["Not Started", "In Progress"]),
                "Priority": rng.choice(["High", "Normal", "Normal", "Low"]),
                "IsClosed": 1 if done else 0,
                "Type": rng.choice(["Call", "Email", "Other"]),
                "TaskSubtype": rng.choice(["Task", "Call", "Email"]),
                "OwnerId": owner,
            })
            if n % 3 == 0:
                # Meetings start on the hour, some past and some upcoming.
                begins = (self.now // 3600 + rng.randrange(-20 * 24, 20 * 24)) * 3600
                minutes = rng.choice([30, 45, 60, 90])
                events.append({
                    "WhoId": person, "WhatId": what, "Subject": rng.choice(pools.EVENT_SUBJECTS),
                    "ActivityDateTime": begins, "StartDateTime": begins,
                    "EndDateTime": begins + minutes * 60, "DurationInMinutes": minutes,
                    "ActivityDate": _date(begins), "Type": "Meeting",
                    "Location": rng.choice(["Zoom", "Teams", "Customer office", "HQ"]),
                    "IsAllDayEvent": 0, "OwnerId": owner,
                })
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
        for lead_id, (contact_id, account_id) in zip(candidates, self.contacts[1:4],
                                                     strict=False):
            stamp = self.now - self.rng.randrange(0, 3600)
            # MAX(): a lead created within the last hour cannot be modified before it existed.
            self.conn.execute(
                'UPDATE "Lead" SET "IsConverted" = 1, "Status" = ?, "ConvertedDate" = ?, '
                '"ConvertedAccountId" = ?, "ConvertedContactId" = ?, '
                '"LastModifiedDate" = MAX("CreatedDate", ?), '
                '"SystemModstamp" = MAX("CreatedDate", ?) WHERE "Id" = ?',
                ("Closed - Converted", _date(stamp), account_id, contact_id, stamp, stamp,
                 lead_id),
            )


def _insert_columns(obj: Any, values: dict[str, Iterable[Any]]) -> dict[str, Iterable[Any]]:
    """The generated columns the table has, plus boolean defaults; others stay NULL.

    Leaving always-NULL columns out of the INSERT saves binding ten-odd values per row."""
    columns: dict[str, Iterable[Any]] = {}
    for definition in obj.stored_fields():
        if definition.name in values:
            columns[definition.name] = values[definition.name]
        elif definition.type == "boolean":
            columns[definition.name] = itertools.repeat(1 if definition.default_value else 0)
    return columns


class _LeadPatterns:
    """Precomputed column patterns for leads; `chunk` slices them into rows."""

    def __init__(self, rng: random.Random, owners: list[str]) -> None:
        self.owners = owners

        primes = iter(_PRIMES)

        def draw(pool: Sequence[Any], weights: Sequence[float] | None = None) -> list[Any]:
            return rng.choices(pool, weights=weights, k=next(primes))

        people = draw(range(len(pools.FIRST_NAMES)))
        self.first = [pools.FIRST_NAMES[i] for i in people]
        self.first_slug = [pools.FIRST_NAMES[i].lower() for i in people]
        family = draw(range(len(pools.LAST_NAMES)))
        self.last = [pools.LAST_NAMES[i] for i in family]
        self.last_slug = [pools.LAST_NAMES[i].lower().replace("'", "") for i in family]
        self.salutation = draw(["Mr.", "Ms.", "Mrs.", "Dr.", None, None])
        self.title = draw(pools.TITLES)
        companies = [_company_name(n) for n in range(600)]
        picked = draw(range(len(companies)))
        self.company = [companies[i][0] for i in picked]
        self.domain = [companies[i][1] for i in picked]
        self.website = [f"https://www.{companies[i][1]}" if i % 5 else None for i in picked]
        places = draw(range(len(pools.PLACES)))
        self.city = [pools.PLACES[i][0] for i in places]
        self.state = [pools.PLACES[i][1] for i in places]
        self.postal = [pools.PLACES[i][2] for i in places]
        self.country = [pools.PLACES[i][3] for i in places]
        self.phone = [f"+{pools.PLACES[i][4]} 555 {rng.randrange(10000):04d}" for i in places]
        self.language = [pools.LANGUAGES_BY_COUNTRY.get(pools.PLACES[i][3], "English")
                         if rng.random() < 0.7 else None for i in places]
        self.street = [f"{rng.choice(pools.STREET_NUMBERS)} {rng.choice(pools.STREETS)}"
                       for _ in range(next(primes))]
        self.mobile = [f"+1 ({rng.randrange(200, 999)}) 555-{rng.randrange(10000):04d}"
                       if flag else None for flag in draw([True, False], [2, 3])]
        self.source = draw(LEAD_SOURCES, [40, 15, 15, 20, 10])
        self.status = draw(["Open - Not Contacted", "Working - Contacted",
                            "Closed - Not Converted"], [60, 30, 10])
        self.industry = draw(INDUSTRIES)
        self.rating = draw([*RATINGS, None], [1, 2, 2, 3])
        self.revenue = draw([None, 250_000.0, 1_000_000.0, 5_000_000.0, 25_000_000.0,
                             120_000_000.0])
        self.employees = draw([None, 5, 12, 40, 150, 600, 2500, 12000])
        self.score = [float(n) for n in draw(range(101))]
        self.opted_out = draw([0, 1], [19, 1])
        self.do_not_call = draw([0, 1], [32, 1])
        self.unread = draw([0, 1], [4, 1])
        self.notes = draw([None, *pools.INTERNAL_NOTES], [45, 1, 1, 1, 1, 1])
        # Most leads are untouched since creation; some were edited days later.
        self.edited_after = draw([0, 0, 0, 0, 3600, 5 * DAY, 20 * DAY])

    def chunk(self, start: int, count: int, ids: list[str], first_second: int, gap: int,
              now: int, actor: str) -> dict[str, Iterable[Any]]:
        def col(pattern: Sequence[Any]) -> list[Any]:
            return cycle(pattern, start, count)

        first, last = col(self.first), col(self.last)
        created = [first_second + (n // ROWS_PER_SECOND) * gap
                   for n in range(start, start + count)]
        modified = [c + d if c + d <= now else now
                    for c, d in zip(created, col(self.edited_after), strict=True)]
        email = [f"{f}.{la}{n}@{d}" for f, la, n, d in zip(
            col(self.first_slug), col(self.last_slug), range(start, start + count),
            col(self.domain), strict=True)]
        return {
            "Id": ids, "IsDeleted": itertools.repeat(0),
            "CreatedDate": created, "CreatedById": itertools.repeat(actor),
            "LastModifiedDate": modified, "LastModifiedById": itertools.repeat(actor),
            "SystemModstamp": modified,
            "Salutation": col(self.salutation), "FirstName": first, "LastName": last,
            "Name": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
            "Title": col(self.title), "Company": col(self.company),
            "Street": col(self.street), "City": col(self.city), "State": col(self.state),
            "PostalCode": col(self.postal), "Country": col(self.country),
            "Phone": col(self.phone), "MobilePhone": col(self.mobile), "Email": email,
            "Website": col(self.website), "LeadSource": col(self.source),
            "Status": col(self.status), "Industry": col(self.industry),
            "Rating": col(self.rating), "AnnualRevenue": col(self.revenue),
            "NumberOfEmployees": col(self.employees), "OwnerId": col(self.owners),
            "HasOptedOutOfEmail": col(self.opted_out), "DoNotCall": col(self.do_not_call),
            "IsConverted": itertools.repeat(0), "IsUnreadByOwner": col(self.unread),
            "Lead_Score__c": col(self.score), "Internal_Notes__c": col(self.notes),
            "Preferred_Language__c": col(self.language),
        }



def _company_name(index: int) -> tuple[str, str]:
    stem = pools.COMPANY_STEMS[index % len(pools.COMPANY_STEMS)]
    suffix = pools.COMPANY_SUFFIXES[(index // len(pools.COMPANY_STEMS) * 5 + index)
                                    % len(pools.COMPANY_SUFFIXES)]
    domain = f"{stem}-{suffix}".lower().replace(".", "") + ".example"
    return f"{stem} {suffix}", domain
