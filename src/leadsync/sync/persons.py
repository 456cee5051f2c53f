"""Storing pulled leads and contacts on persons: create, merge against the baseline, convert,
delete. One person per Salesforce record; a converted lead and its contact are one person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..db import activities as activity
from ..db import persons as person_api
from ..db import sync_state
from ..db.changes import SALESFORCE
from ..db.schema import persons, sync_changes, sync_conflicts, sync_fields
from ..db.sync_state import Link
from .identity import merge_persons, merged_in_salesforce
from .objects import ReadPlan
from .records import SfRecord
from .rules import LEADSYNC, Rule, settle
from .store import (
    changed_fields,
    company_for_account,
    create_person,
    owner_and_account_kept,
    owners_and_accounts,
    person_row,
    person_version_stored,
    save_link,
)


def store_person(conn: Connection, plan: ReadPlan, record: SfRecord, at: dt.datetime) -> str:
    """Store one lead or contact; returns the run count it falls under."""
    link = sync_state.get_link(conn, record.object, record.id)
    if link is not None and person_version_stored(link, record):
        stored = owners_and_accounts(conn, [link.entity_id]).get(link.entity_id)
        if owner_and_account_kept(record, stored):
            return "skipped"
    if record.object == "Lead" and record.sync.get("ConvertedContactId"):
        return _converted_lead(conn, plan, record, link, at)
    if record.deleted:
        return _deleted(conn, record, link, at)
    if link is None:
        claimed = _claimed_person(conn, plan, record)
        if claimed is not None:  # our own create, whose local commit never happened
            return _claim(conn, plan, record, claimed, at)
        person_id = create_person(conn, plan, record, at, sfdc_type=record.object)
        save_link(conn, record, "person", person_id, at)
        return "new"
    return _update(conn, plan, record, link, at)


def _update(conn: Connection, plan: ReadPlan, record: SfRecord, link: Link, at: dt.datetime) -> str:
    person_id = link.entity_id
    fields = _fields_to_write(conn, plan, record, link, at)
    if fields:
        person_api.update_person(conn, person_id, fields, source=SALESFORCE, at=at)
    moved = _sync_columns(conn, record, person_id, at)
    # Fields the pull does not read (leadsync-only) keep their pushed baseline values.
    read = {f.api_name for f in plan.data}
    kept = {api: value for api, value in link.baseline.items() if api not in read}
    baseline = {**kept, **record.values}
    sync_state.save_link(
        conn, Link(record.object, record.id, "person", person_id, baseline, record.modstamp), at=at
    )
    return "updated" if fields or moved else "skipped"


def _claimed_person(conn: Connection, plan: ReadPlan, record: SfRecord) -> int | None:
    """The person a record's external id names, if it exists and holds no other record of
    this object: the record was created by a push whose local commit was lost."""
    raw = record.sync.get(plan.external_id) if plan.external_id else None
    if raw is None or not str(raw).strip().isdigit():
        return None
    column = persons.c.sfdc_lead_id if record.object == "Lead" else persons.c.sfdc_contact_id
    row = conn.execute(
        select(persons.c.id, column).where(persons.c.id == int(str(raw).strip()))
    ).first()
    if row is None or row[1] not in (None, record.id):
        return None
    return int(row[0])


def _claim(
    conn: Connection, plan: ReadPlan, record: SfRecord, person_id: int, at: dt.datetime
) -> str:
    id_column = "sfdc_lead_id" if record.object == "Lead" else "sfdc_contact_id"
    conn.execute(
        update(persons)
        .where(persons.c.id == person_id)
        .values(sfdc_type=record.object, updated_at=at, **{id_column: record.id})
    )
    link = Link(record.object, record.id, "person", person_id, {}, None)
    sync_state.save_link(conn, link, at=at)
    _update(conn, plan, record, link, at)
    return "updated"


def _fields_to_write(
    conn: Connection, plan: ReadPlan, record: SfRecord, link: Link, at: dt.datetime
) -> dict[str, Any]:
    """JSON name -> value of the fields Salesforce changed that should land locally; a field
    both sides changed is settled by its rule, and the conflict recorded."""
    changes = changed_fields(record, link.baseline)
    if not changes:
        return {}
    local = person_api.get_person(conn, link.entity_id)
    by_api = {f.api_name: f for f in plan.data}
    fields: dict[str, Any] = {}
    for api, new in changes.items():
        name = by_api[api].name
        rule = plan.rules.rule(record.object, name)
        current = local.get(name)
        if current == new or not rule.pulls:
            continue  # both sides already agree (our own write read back), or never pulled
        if api in link.baseline and current != link.baseline[api]:  # both sides changed it
            values = (link.baseline[api], current, new)
            local_at = last_local_edit(conn, link.entity_id, name)
            winner = settle(rule, *values, local_at, record.modstamp)
            _record_conflict(conn, record, link.entity_id, name, values, rule, winner, at)
            if winner == LEADSYNC:
                continue  # the push sends the local value
        fields[name] = new
    return fields


def last_local_edit(conn: Connection, person_id: int, name: str) -> dt.datetime | None:
    found = conn.scalar(
        select(func.max(sync_changes.c.at)).where(
            sync_changes.c.entity == "person",
            sync_changes.c.entity_id == person_id,
            sync_changes.c.field == name,
        )
    )
    return found if isinstance(found, dt.datetime) else None


def _record_conflict(
    conn: Connection,
    record: SfRecord,
    person_id: int,
    name: str,
    values: tuple[Any, Any, Any],
    rule: Rule,
    winner: str,
    at: dt.datetime,
) -> None:
    """Keep every settled conflict (baseline, local, Salesforce values) for review."""
    baseline, local, remote = values
    conn.execute(
        insert(sync_conflicts).values(
            at=at,
            person_id=person_id,
            sfdc_object=record.object,
            sfdc_id=record.id,
            field=name,
            baseline_value=baseline,
            local_value=local,
            salesforce_value=remote,
            winner=winner,
            rule=rule.value,
        )
    )


def _sync_columns(conn: Connection, record: SfRecord, person_id: int, at: dt.datetime) -> bool:
    """Owner, account and undelete bookkeeping; True if something changed."""
    row = person_row(conn, person_id)
    values: dict[str, Any] = {}
    owner = record.sync.get("OwnerId")
    if owner != row.sfdc_owner_id and _owns_identity(row, record):
        values["sfdc_owner_id"] = owner
    if record.object == "Contact":
        account = record.sync.get("AccountId")
        company_id = company_for_account(conn, str(account), at) if account else None
        if company_id != row.company_id:
            values["company_id"] = company_id
    if row.sfdc_is_deleted and _owns_identity(row, record):
        values["sfdc_is_deleted"] = False  # undeleted from the recycle bin
    if values:
        conn.execute(
            update(persons).where(persons.c.id == person_id).values(**values, updated_at=at)
        )
    return bool(values)


def _owns_identity(row: Any, record: SfRecord) -> bool:
    """Whether `record` is the person's current Salesforce record (a converted lead is not)."""
    return bool(row.sfdc_type == record.object)


def _deleted(conn: Connection, record: SfRecord, link: Link | None, at: dt.datetime) -> str:
    if link is None:
        return "skipped"  # deleted before leadsync ever saw it: no person to keep
    row = person_row(conn, link.entity_id)
    master = record.sync.get("MasterRecordId")
    if master and _owns_identity(row, record):  # merged into another record in Salesforce
        return merged_in_salesforce(conn, record, link, str(master), at)
    save_link(conn, record, "person", row.id, at)
    if row.sfdc_is_deleted or not _owns_identity(row, record):
        return "skipped"
    conn.execute(
        update(persons).where(persons.c.id == row.id).values(sfdc_is_deleted=True, updated_at=at)
    )
    attributes = {"sfdcType": record.object, "sfdcId": record.id, "source": SALESFORCE}
    activity.add_activity(conn, row.id, activity.DELETE_LEAD_FROM_SFDC, attributes, at)
    return "deleted"


def _converted_lead(
    conn: Connection, plan: ReadPlan, record: SfRecord, link: Link | None, at: dt.datetime
) -> str:
    """The lead's person becomes the contact's person, whichever was read first."""
    contact_id = str(record.sync["ConvertedContactId"])
    contact_link = sync_state.get_link(conn, "Contact", contact_id)
    target = _conversion_target(conn, plan, record, link, contact_link, at)
    if contact_link is None:
        # The contact's values arrive when the contact is read. Conversion copies the lead's
        # fields onto the contact, so the lead's agreed values are the contact's baseline:
        # a local edit still waiting to be pushed is then not overwritten by the copy of
        # the old value, while fields Salesforce changed land as usual.
        baseline = _contact_baseline(conn, plan, link.baseline if link is not None else {})
        contact = Link("Contact", contact_id, "person", target, baseline, None)
        sync_state.save_link(conn, contact, at=at)
    row = person_row(conn, target)
    save_link(conn, record, "person", target, at)
    if row.sfdc_type == "Contact" and row.sfdc_lead_id == record.id:
        return "skipped"  # converted earlier: nothing new
    conn.execute(
        update(persons)
        .where(persons.c.id == target)
        .values(
            sfdc_type="Contact", sfdc_lead_id=record.id, sfdc_contact_id=contact_id, updated_at=at
        )
    )
    attributes = {"sfdcLeadId": record.id, "sfdcContactId": contact_id, "source": SALESFORCE}
    activity.add_activity(conn, target, activity.CONVERT_LEAD, attributes, at)
    return "updated"


def _conversion_target(
    conn: Connection,
    plan: ReadPlan,
    record: SfRecord,
    link: Link | None,
    contact_link: Link | None,
    at: dt.datetime,
) -> int:
    if contact_link is not None:
        if link is not None and link.entity_id != contact_link.entity_id:
            # Converted into a contact leadsync already holds: like a merge, the contact wins.
            merge_persons(conn, winner=contact_link.entity_id, loser=link.entity_id, at=at)
        return contact_link.entity_id
    if link is not None:
        return link.entity_id
    return create_person(conn, plan, record, at, sfdc_type="Lead")


def _contact_baseline(
    conn: Connection, plan: ReadPlan, lead_baseline: Mapping[str, Any]
) -> dict[str, Any]:
    """The lead's baseline under the Contact API names of the same person fields."""
    contact_api: dict[str, str] = {}
    for json_name, api_name in conn.execute(
        select(sync_fields.c.json_name, sync_fields.c.api_name).where(
            sync_fields.c.sfdc_object == "Contact", sync_fields.c.visible.is_(True)
        )
    ):
        contact_api.setdefault(json_name, api_name)
    baseline: dict[str, Any] = {}
    for data in plan.data:
        target = contact_api.get(data.name)
        if target is not None and data.api_name in lead_baseline:
            baseline[target] = lead_baseline[data.api_name]
    return baseline
