"""Small readers used by the pull tests (straight SQL on the lead database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from leadsync.db import LeadDatabase
from leadsync.db.schema import activities, companies, owners, persons
from leadsync.emulator.org import Org


def count(db: LeadDatabase, table: Any, *where: Any) -> int:
    with db.transaction() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def person_counts(db: LeadDatabase) -> dict[str, int]:
    return {
        "Lead": count(db, persons, persons.c.sfdc_type == "Lead"),
        "Contact": count(db, persons, persons.c.sfdc_type == "Contact"),
        "all": count(db, persons),
    }


def activity_count(db: LeadDatabase) -> int:
    return count(db, activities)


def owner_count(db: LeadDatabase) -> int:
    """Users only: queues are owners too (`is_queue`)."""
    return count(db, owners, owners.c.is_queue.is_(False))


def account_company_count(db: LeadDatabase) -> int:
    return count(db, companies, companies.c.sfdc_account_id.is_not(None))


def person_by_sfdc(db: LeadDatabase, sfdc_id: str) -> dict[str, Any]:
    [found] = [
        p for p in db.find_persons(sfdcLeadId=sfdc_id) + db.find_persons(sfdcContactId=sfdc_id)
    ]
    return found


def next_minute(org: Org) -> None:
    """Let the minute of the last Salesforce change end: most objects' changes are found by
    the replication resources (`sync.change_check`), which report a change once its minute is
    over."""
    org.clock.advance(60)
