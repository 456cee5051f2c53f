"""Pushing local campaign membership edits (the outbox rows `db.campaigns` writes).

Each membership's pending edits collapse into one net change (its state before the first and
after the last), sent in batches: creates, status updates and deletes, 200 a call each. A
person not in Salesforce yet is synced first (Marketo: a member of a synced campaign reaches
Salesforce). A refused record gets the activity with `success: false` and a sync error, and
is sent again when it is edited again; the rest of the batch goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from ..db import activities as activity
from ..db import campaigns as campaign_db
from ..db.changes import LOCAL
from ..db.schema import campaign_members, campaigns, sync_changes
from ..errors import LeadsyncError
from ..salesforce import collections, soql
from ..salesforce.collections import RecordResult
from .action_base import ActionContext, SfRef, in_salesforce, sf_ref
from .store import Counts


@dataclass
class _Net:
    """One membership's pending edits, netted."""

    member_row: int
    change_ids: list[int] = field(default_factory=list)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    campaign_sfdc_id: str | None = None
    ref: SfRef | None = None
    member_id: str | None = None

    @property
    def person_id(self) -> int:
        state = self.after or self.before
        assert state is not None
        return int(state["personId"])


def push_memberships(ctx: ActionContext, *, limit: int = 10_000) -> Counts:
    counts = Counts()
    nets = _collect(ctx, limit)
    creates, updates, deletes = [], [], []
    for net in nets:
        if not _prepare(ctx, net, counts):
            continue
        if net.after is None:
            deletes.append(net)
        elif net.member_id is None:
            creates.append(net)
        else:
            updates.append(net)
    _send(ctx, creates, _create_all, counts, "new")
    _send(ctx, updates, _update_all, counts, "updated")
    _send(ctx, deletes, _delete_all, counts, "deleted")
    return counts


def _collect(ctx: ActionContext, limit: int) -> list[_Net]:
    with ctx.db.transaction() as conn:
        rows = conn.execute(
            select(sync_changes)
            .where(
                sync_changes.c.entity == campaign_db.MEMBER_ENTITY,
                sync_changes.c.processed_at.is_(None),
            )
            .order_by(sync_changes.c.id)
            .limit(limit)
        ).all()
        nets: dict[int, _Net] = {}
        for row in rows:
            net = nets.get(row.entity_id)
            if net is None:
                net = nets[row.entity_id] = _Net(row.entity_id, before=row.old)
            net.change_ids.append(row.id)
            net.after = row.new
        for net in nets.values():
            state = net.after or net.before
            if state is None:
                continue
            net.campaign_sfdc_id = conn.scalar(
                select(campaigns.c.sfdc_id).where(campaigns.c.id == state["campaignId"])
            )
            current = conn.scalar(
                select(campaign_members.c.sfdc_id).where(campaign_members.c.id == net.member_row)
            )
            net.member_id = current or (net.before or {}).get("sfdcId")
    return list(nets.values())


def _prepare(ctx: ActionContext, net: _Net, counts: Counts) -> bool:
    """Whether the net change needs a call; a no-op is marked done here."""
    unchanged = (net.before or {}).get("status") == (net.after or {}).get("status")
    if net.campaign_sfdc_id is None or (net.after is None and net.member_id is None):
        _done(ctx, net, None)  # a local-only campaign, or added and removed before a push
        counts.skipped += 1
        return False
    if net.before is not None and net.after is not None and unchanged and net.member_id:
        _done(ctx, net, None)
        counts.skipped += 1
        return False
    person = ctx.db.get_person(net.person_id)
    if not in_salesforce(person):
        if net.after is None:
            _done(ctx, net, None)
            counts.skipped += 1
            return False
        try:
            person, net.ref, _ = ctx.linked(net.person_id)
        except LeadsyncError:
            counts.failed += 1  # the pusher recorded why; sent again on the next edit
            _done(ctx, net, None)
            return False
    net.ref = sf_ref(person)
    return True


Send = Callable[[ActionContext, list[_Net]], list[RecordResult]]


def _send(ctx: ActionContext, nets: list[_Net], call: Send, counts: Counts, kind: str) -> None:
    if not nets:
        return
    results = call(ctx, nets)
    for net, result in zip(nets, results, strict=True):
        if result.success or (kind == "deleted" and result.error_code in _GONE):
            _done(ctx, net, result.id if kind == "new" else None, logged=kind)
            setattr(counts, kind, getattr(counts, kind) + 1)
        elif kind == "new" and result.error_code == "DUPLICATE_VALUE" and _adopt(ctx, net):
            counts.updated += 1  # a member already (made in Salesforce): its status set
        else:
            _refused(ctx, net, result, kind)
            counts.failed += 1


def _adopt(ctx: ActionContext, net: _Net) -> bool:
    """The person is a member in Salesforce already: take that member, set its status."""
    assert net.ref is not None
    column = "ContactId" if net.ref.object == "Contact" else "LeadId"
    where = (
        f"CampaignId = {soql.quote(str(net.campaign_sfdc_id))} "
        f"AND {column} = {soql.quote(net.ref.id)}"
    )
    rows = ctx.client.query(soql.select("CampaignMember", ("Id", "Status"), where=where))
    if not rows:
        return False
    net.member_id = str(rows[0]["Id"])
    if rows[0].get("Status") != (net.after or {}).get("status"):
        [result] = _update_all(ctx, [net])
        if not result.success:
            return False
    _done(ctx, net, net.member_id, logged="updated")
    return True


_GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


def _create_all(ctx: ActionContext, nets: list[_Net]) -> list[RecordResult]:
    records = []
    for net in nets:
        assert net.ref is not None and net.after is not None
        column = "ContactId" if net.ref.object == "Contact" else "LeadId"
        record: dict[str, Any] = {"CampaignId": net.campaign_sfdc_id, column: net.ref.id}
        if net.after.get("status"):
            record["Status"] = net.after["status"]
        records.append(record)
    return collections.create(ctx.client, "CampaignMember", records)


def _update_all(ctx: ActionContext, nets: list[_Net]) -> list[RecordResult]:
    records: Sequence[dict[str, Any]] = [
        {"Id": net.member_id, "Status": (net.after or {}).get("status")} for net in nets
    ]
    return collections.update(ctx.client, "CampaignMember", records)


def _delete_all(ctx: ActionContext, nets: list[_Net]) -> list[RecordResult]:
    return collections.delete(ctx.client, [str(net.member_id) for net in nets])


_LOGGED = {
    "new": activity.ADD_TO_SFDC_CAMPAIGN,
    "updated": activity.CHANGE_STATUS_IN_SFDC_CAMPAIGN,
    "deleted": activity.REMOVE_FROM_SFDC_CAMPAIGN,
}


def _done(ctx: ActionContext, net: _Net, created: str | None, *, logged: str | None = None) -> None:
    at = ctx.clock()
    with ctx.db.transaction() as conn:
        if created is not None:
            conn.execute(
                update(campaign_members)
                .where(campaign_members.c.id == net.member_row)
                .values(sfdc_id=created, updated_at=at)
            )
        conn.execute(
            update(sync_changes)
            .where(sync_changes.c.id.in_(net.change_ids))
            .values(processed_at=at)
        )
        if logged is not None:
            attributes = {
                "campaignId": net.campaign_sfdc_id,
                "memberId": created or net.member_id,
                "oldStatus": (net.before or {}).get("status"),
                "status": (net.after or {}).get("status"),
                "success": True,
                "source": LOCAL,
            }
            activity.add_activity(conn, net.person_id, _LOGGED[logged], attributes, at)


def _refused(ctx: ActionContext, net: _Net, result: RecordResult, kind: str) -> None:
    assert net.ref is not None
    ctx.fail(
        net.person_id,
        _LOGGED[kind],
        {"campaignId": net.campaign_sfdc_id, "status": (net.after or {}).get("status")},
        sfdc_object="CampaignMember",
        sfdc_id=net.member_id or net.ref.id,
        errors=result.errors,
    )
    _done(ctx, net, None)  # retried when the membership is edited again
