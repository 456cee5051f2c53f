"""Add to / Change Status in / Remove from SFDC Campaign.

The campaign is named by its Salesforce id or its exact name, and resolved before anything is
written: from the local `campaigns` table when the pull has brought it (statuses from
`campaign_statuses`), else from Salesforce in one composite call, cached for a few minutes.
An unknown campaign or a status the campaign does not have is a `ValidationError` naming it.

Membership is decided from the local `campaign_members` rows first (no call), and Salesforce
stays the judge: a create refused with DUPLICATE_VALUE means the person is a member already,
as Marketo skips existing members. Each edit writes the CampaignMember in Salesforce, then the
local row, its (already processed) outbox row and the activity in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, select

from ..db import activities as activity
from ..db import campaigns as campaign_db
from ..db.changes import LOCAL, SALESFORCE
from ..db.schema import campaign_statuses, campaigns
from ..errors import FatalSalesforceError, ValidationError
from ..salesforce import collections, soql
from ..salesforce.collections import RecordResult
from .action_base import ActionContext, SfRef, TtlCache, in_salesforce, sf_ref

CAMPAIGN_PREFIX = "701"
ALREADY_MEMBER = "DUPLICATE_VALUE"
GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "INVALID_ID_FIELD"})


@dataclass(frozen=True)
class ActionOutcome:
    """What a campaign action did. `done` is False when it was skipped, as Marketo skips (an
    existing member on Add, a non-member on Remove); `reason` says why."""

    person_id: int
    action: str  # the activity type
    done: bool
    campaign_id: str  # the Salesforce Campaign id
    campaign_name: str
    member_id: str | None = None  # the CampaignMember id
    status: str | None = None
    reason: str | None = None
    synced: bool = False  # the implied Sync Person to SFDC ran first


@dataclass(frozen=True)
class Campaign:
    sfdc_id: str
    name: str
    statuses: tuple[str, ...]  # empty: unknown (a campaign without member statuses)
    default_status: str | None


@dataclass(frozen=True)
class _Member:
    id: str
    status: str | None


class CampaignActions:
    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self._remote: TtlCache[Campaign | None] = TtlCache(ctx.clock)

    # -- the actions ------------------------------------------------------------------------

    def add(self, person_id: int, key: str, status: str | None) -> ActionOutcome:
        found = self.resolve(key, person_id)
        status = self._checked_status(found, status or found.default_status, person_id)
        _person, ref, synced = self.ctx.linked(person_id)
        outcome = _Outcome(person_id, activity.ADD_TO_SFDC_CAMPAIGN, found, synced)
        local = self._local_member(found, person_id)
        if local is not None:
            return outcome.skipped("already a member", local.id, local.status)
        result = self._create(found, ref, status)
        if not result.success and result.error_code == ALREADY_MEMBER:
            remote = self._remote_member(found, ref)
            if remote is not None:
                self._remember(found, person_id, remote)
                return outcome.skipped("already a member", remote.id, remote.status)
        if not result.success:
            raise self._failure(outcome, ref, result, status)
        return self._added(outcome, str(result.id), status)

    def change_status(self, person_id: int, key: str, status: str) -> ActionOutcome:
        found = self.resolve(key, person_id)
        if self._checked_status(found, status, person_id) is None:
            raise ValidationError("status", "a new member status is required", record_id=person_id)
        _person, ref, synced = self.ctx.linked(person_id)
        outcome = _Outcome(person_id, activity.CHANGE_STATUS_IN_SFDC_CAMPAIGN, found, synced)
        member = self._local_member(found, person_id)
        if member is None:
            result = self._create(found, ref, status)
            if result.success:  # not a member: added with that status (Marketo's implied add)
                return self._added(outcome, str(result.id), status, implied_by=outcome.action)
            if result.error_code != ALREADY_MEMBER:
                raise self._failure(outcome, ref, result, status)
            member = self._remote_member(found, ref)
            if member is None:
                raise self._failure(outcome, ref, result, status)
        if member.status == status:
            self._remember(found, person_id, member)
            return outcome.skipped("status unchanged", member.id, status)
        [result] = collections.update(
            self.ctx.client, "CampaignMember", [{"Id": member.id, "Status": status}]
        )
        if not result.success:
            raise self._failure(outcome, ref, result, status)
        with self.ctx.db.transaction() as conn:
            campaign_id = self._campaign_row(conn, found)
            campaign_db.set_membership(
                conn,
                campaign_id,
                person_id,
                status,
                at=self.ctx.clock(),
                source=LOCAL,
                sfdc_id=member.id,
                pushed=True,
            )
            attributes = {"oldStatus": member.status, "newStatus": status}
            self._log(conn, outcome, member.id, attributes)
        return outcome.done_with(member.id, status)

    def remove(self, person_id: int, key: str) -> ActionOutcome:
        found = self.resolve(key, person_id)
        person = self.ctx.db.get_person(person_id)
        outcome = _Outcome(person_id, activity.REMOVE_FROM_SFDC_CAMPAIGN, found, False)
        if not in_salesforce(person):  # no implied sync: a person not in Salesforce is no member
            return outcome.skipped("not in Salesforce", None, None)
        ref = sf_ref(person)
        member = self._local_member(found, person_id) or self._remote_member(found, ref)
        if member is None:
            return outcome.skipped("not a member", None, None)
        [result] = collections.delete(self.ctx.client, [member.id])
        if not result.success and result.error_code not in GONE:
            raise self._failure(outcome, ref, result, member.status)
        with self.ctx.db.transaction() as conn:
            campaign_id = self._campaign_row(conn, found)
            campaign_db.remove_membership(
                conn, campaign_id, person_id, at=self.ctx.clock(), source=LOCAL, pushed=True
            )
            self._log(conn, outcome, member.id, {"status": member.status})
        return outcome.done_with(member.id, member.status)

    # -- campaigns --------------------------------------------------------------------------

    def resolve(self, key: str, person_id: int | None = None) -> Campaign:
        """The campaign `key` names (an id or an exact name), or a ValidationError."""
        key = key.strip()
        if not key:
            raise ValidationError(
                "campaign", "a campaign id or name is required", record_id=person_id
            )
        with self.ctx.db.transaction() as conn:
            local = _local_campaign(conn, key, person_id)
        if local is not None and local.statuses:
            return local
        lookup = key if local is None else local.sfdc_id
        found = self._remote.get(lookup, lambda: self._fetch(lookup, person_id))
        if found is None:
            raise ValidationError(
                "campaign",
                f"no Salesforce campaign with the id or exact name {key!r}",
                record_id=person_id,
            )
        return found

    def _fetch(self, key: str, person_id: int | None) -> Campaign | None:
        """The campaign and its member statuses, in one composite call."""
        by_id = _looks_like_id(key)
        where = f"Id = {soql.quote(key)}" if by_id else f"Name = {soql.quote(key)}"
        parent = (
            f"CampaignId = {soql.quote(key)}" if by_id else f"Campaign.Name = {soql.quote(key)}"
        )
        queries = {
            "campaign": soql.select("Campaign", ("Id", "Name"), where=where, limit=3),
            "statuses": soql.select(
                "CampaignMemberStatus",
                ("CampaignId", "Label", "IsDefault", "SortOrder"),
                where=parent,
                order_by=("SortOrder",),
            ),
        }
        bodies = self._composite_queries(queries)
        found = bodies["campaign"]
        if not found:
            return None
        if len(found) > 1:
            raise ValidationError(
                "campaign",
                f"{len(found)} Salesforce campaigns are named {key!r}; give the campaign id",
                record_id=person_id,
            )
        campaign_id = str(found[0]["Id"])
        rows = [r for r in bodies["statuses"] if r.get("CampaignId") == campaign_id]
        default = next((str(r["Label"]) for r in rows if r.get("IsDefault")), None)
        return Campaign(
            campaign_id, str(found[0]["Name"]), tuple(str(r["Label"]) for r in rows), default
        )

    def _composite_queries(self, queries: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        base = self.ctx.client.base_path
        subrequests = [
            {"method": "GET", "url": f"{base}/query?" + urlencode({"q": q}), "referenceId": name}
            for name, q in queries.items()
        ]
        answers: dict[str, list[dict[str, Any]]] = {}
        for response in self.ctx.client.composite(subrequests):
            body = response.get("body")
            status = int(response.get("httpStatusCode", 500))
            if status >= 300 or not isinstance(body, dict):
                first = body[0] if isinstance(body, list) and body else {}
                code = (
                    str(first.get("errorCode", f"HTTP_{status}")) if isinstance(first, dict) else ""
                )
                raise FatalSalesforceError(
                    code or f"HTTP_{status}", f"campaign lookup failed: {body}"
                )
            answers[str(response["referenceId"])] = list(body.get("records") or [])
        return answers

    @staticmethod
    def _checked_status(found: Campaign, status: str | None, person_id: int) -> str | None:
        if status is None or not found.statuses or status in found.statuses:
            return status
        raise ValidationError(
            "status",
            f"campaign {found.name!r} has no member status {status!r} "
            f"(its statuses: {', '.join(found.statuses)})",
            record_id=person_id,
        )

    # -- members ----------------------------------------------------------------------------

    def _local_member(self, found: Campaign, person_id: int) -> _Member | None:
        with self.ctx.db.transaction() as conn:
            campaign_id = conn.scalar(
                select(campaigns.c.id).where(campaigns.c.sfdc_id == found.sfdc_id)
            )
            if campaign_id is None:
                return None
            row = campaign_db.get_membership(conn, int(campaign_id), person_id)
        if row is None or row.sfdc_id is None:
            return None  # a local edit not pushed yet is no proof of membership in Salesforce
        return _Member(row.sfdc_id, row.status)

    def _remote_member(self, found: Campaign, ref: SfRef) -> _Member | None:
        column = "ContactId" if ref.object == "Contact" else "LeadId"
        where = f"CampaignId = {soql.quote(found.sfdc_id)} AND {column} = {soql.quote(ref.id)}"
        rows = self.ctx.client.query(soql.select("CampaignMember", ("Id", "Status"), where=where))
        if not rows:
            return None
        return _Member(str(rows[0]["Id"]), rows[0].get("Status"))

    def _remember(self, found: Campaign, person_id: int, member: _Member) -> None:
        """A membership Salesforce has and the lead database lacked: stored as pulled."""
        with self.ctx.db.transaction() as conn:
            campaign_id = self._campaign_row(conn, found)
            campaign_db.set_membership(
                conn,
                campaign_id,
                person_id,
                member.status,
                at=self.ctx.clock(),
                source=SALESFORCE,
                sfdc_id=member.id,
            )

    def _create(self, found: Campaign, ref: SfRef, status: str | None) -> RecordResult:
        column = "ContactId" if ref.object == "Contact" else "LeadId"
        record: dict[str, Any] = {"CampaignId": found.sfdc_id, column: ref.id}
        if status is not None:
            record["Status"] = status
        [result] = collections.create(self.ctx.client, "CampaignMember", [record])
        return result

    def _added(
        self, outcome: _Outcome, member_id: str, status: str | None, implied_by: str | None = None
    ) -> ActionOutcome:
        with self.ctx.db.transaction() as conn:
            campaign_id = self._campaign_row(conn, outcome.campaign)
            campaign_db.set_membership(
                conn,
                campaign_id,
                outcome.person_id,
                status,
                at=self.ctx.clock(),
                source=LOCAL,
                sfdc_id=member_id,
                pushed=True,
            )
            attributes: dict[str, Any] = {"status": status}
            if implied_by:
                attributes["impliedBy"] = implied_by
            added = _Outcome(
                outcome.person_id, activity.ADD_TO_SFDC_CAMPAIGN, outcome.campaign, outcome.synced
            )
            self._log(conn, added, member_id, attributes)
        return outcome.done_with(member_id, status)

    def _campaign_row(self, conn: Connection, found: Campaign) -> int:
        return campaign_db.ensure_campaign(conn, found.sfdc_id, found.name, self.ctx.clock())

    def _log(
        self, conn: Connection, outcome: _Outcome, member_id: str, extra: dict[str, Any]
    ) -> None:
        attributes = {
            "campaign": outcome.campaign.name,
            "campaignId": outcome.campaign.sfdc_id,
            "memberId": member_id,
            **extra,
            "success": True,
            "source": LOCAL,
        }
        activity.add_activity(
            conn, outcome.person_id, outcome.action, attributes, self.ctx.clock(), sfdc_id=member_id
        )

    def _failure(
        self, outcome: _Outcome, ref: SfRef, result: RecordResult, status: str | None
    ) -> Exception:
        return self.ctx.fail(
            outcome.person_id,
            outcome.action,
            {
                "campaign": outcome.campaign.name,
                "campaignId": outcome.campaign.sfdc_id,
                "status": status,
            },
            sfdc_object="CampaignMember",
            sfdc_id=ref.id,
            errors=result.errors,
        )


@dataclass(frozen=True)
class _Outcome:
    """An action under way: builds its `ActionOutcome`."""

    person_id: int
    action: str
    campaign: Campaign
    synced: bool

    def skipped(self, reason: str, member_id: str | None, status: str | None) -> ActionOutcome:
        return self._make(False, member_id, status, reason)

    def done_with(self, member_id: str, status: str | None) -> ActionOutcome:
        return self._make(True, member_id, status, None)

    def _make(
        self, done: bool, member_id: str | None, status: str | None, reason: str | None
    ) -> ActionOutcome:
        return ActionOutcome(
            person_id=self.person_id,
            action=self.action,
            done=done,
            campaign_id=self.campaign.sfdc_id,
            campaign_name=self.campaign.name,
            member_id=member_id,
            status=status,
            reason=reason,
            synced=self.synced,
        )


def _looks_like_id(key: str) -> bool:
    return (
        len(key) in (15, 18) and key.isalnum() and key.isascii() and key.startswith(CAMPAIGN_PREFIX)
    )


def _local_campaign(conn: Connection, key: str, person_id: int | None) -> Campaign | None:
    live = campaigns.c.sfdc_is_deleted.is_(False) & campaigns.c.sfdc_id.is_not(None)
    if _looks_like_id(key):
        match = (
            campaigns.c.sfdc_id.in_({key, _id18(key)})
            if len(key) == 15
            else campaigns.c.sfdc_id == key
        )
    else:
        match = campaigns.c.name == key
    rows = conn.execute(
        select(campaigns.c.id, campaigns.c.sfdc_id, campaigns.c.name).where(live, match)
    ).all()
    if not rows:
        return None
    if len(rows) > 1:
        raise ValidationError(
            "campaign",
            f"{len(rows)} campaigns are named {key!r}; give the campaign id",
            record_id=person_id,
        )
    [row] = rows
    statuses = conn.execute(
        select(campaign_statuses.c.label, campaign_statuses.c.is_default)
        .where(campaign_statuses.c.campaign_id == row.id)
        .order_by(campaign_statuses.c.sort_order, campaign_statuses.c.id)
    ).all()
    default = next((s.label for s in statuses if s.is_default), None)
    return Campaign(str(row.sfdc_id), str(row.name), tuple(s.label for s in statuses), default)


_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _id18(id15: str) -> str:
    """The 18-character form of a 15-character Salesforce id (its case checksum appended)."""
    suffix = ""
    for block in range(3):
        chunk = id15[block * 5 : block * 5 + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _CHECKSUM[bits]
    return id15 + suffix
