"""Flow actions: Marketo's Salesforce flow steps, run immediately against Salesforce.

    actions = Actions(db, client, pusher)
    actions.add_to_campaign(person_id, "Spring Webinar", status="Registered")
    actions.convert_person(person_id, opportunity_name="Acme - new business")

Every action on a person not yet in Salesforce (or deleted there) first runs Sync Person to
SFDC, Marketo's implied action; Remove from SFDC Campaign and Delete Person from SFDC do not
(a person not in Salesforce is no member and has nothing to delete: they are skipped).
Inputs are checked before anything is written (a bad owner, campaign or status is a
`ValidationError` naming it). On a person already linked, each action costs one write call;
lookups (converted status, campaigns, describes) are cached. A write Salesforce refuses leaves
an activity with `success: false`, a sync error, and raises `RecordError`
(see `action_base`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, select, update

from ..db import LeadDatabase
from ..db import activities as activity
from ..db import persons as person_api
from ..db.changes import LOCAL, SALESFORCE
from ..db.schema import companies, persons
from ..db.types import utcnow
from ..errors import FatalSalesforceError, ValidationError
from ..salesforce import collections, soap, soql
from ..salesforce.client import SalesforceClient
from ..salesforce.describe import DescribeCache
from .action_base import (
    QUEUE_PREFIX,
    ActionContext,
    PersonSyncer,
    TtlCache,
    check_owner,
    in_salesforce,
    sf_ref,
)
from .campaign_actions import GONE, ActionOutcome, CampaignActions
from .member_push import push_memberships
from .objects import ACCOUNT, CONTACT, ReadPlan, plan
from .records import SfRecord, decode
from .rules import FieldRules
from .store import Counts, company_for_account, person_row, save_link, store_company
from .tokens import render

__all__ = ["ActionOutcome", "Actions"]

CREATE_TASK = "Create Task"
DEFAULT_DUE_IN_DAYS = 5


class Actions:
    """Flow actions on persons. Keep one instance: it caches lookups."""

    def __init__(
        self,
        db: LeadDatabase,
        client: SalesforceClient,
        pusher: PersonSyncer,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.client = client
        self.pusher = pusher
        self.clock = clock
        self.ctx = ActionContext(db, client, pusher, clock)
        self.campaigns = CampaignActions(self.ctx)
        shared = getattr(pusher, "describe", None)  # the pusher's cache: no second describe
        self.describe = shared if isinstance(shared, DescribeCache) else DescribeCache(client)
        self._lookups: TtlCache[str] = TtlCache(clock)
        self._plans: dict[str, tuple[object, ReadPlan]] = {}

    # -- Sync Person to SFDC ----------------------------------------------------------------

    def sync_person(self, person_id: int, *, owner_id: str | None = None) -> dict[str, Any]:
        return self.pusher.sync_person(person_id, owner_id=owner_id)

    # -- campaigns ----------------------------------------------------------------------------

    def add_to_campaign(
        self, person_id: int, campaign: str, *, status: str | None = None
    ) -> ActionOutcome:
        """Add with `status` (default: the campaign's default member status); an existing
        member is skipped and keeps its status."""
        return self.campaigns.add(person_id, campaign, status)

    def change_campaign_status(self, person_id: int, campaign: str, status: str) -> ActionOutcome:
        """Set the member status; a person not a member yet is added with it."""
        return self.campaigns.change_status(person_id, campaign, status)

    def remove_from_campaign(self, person_id: int, campaign: str) -> ActionOutcome:
        """Remove the membership; a non-member is skipped."""
        return self.campaigns.remove(person_id, campaign)

    def push_memberships(self) -> Counts:
        """Push local campaign membership edits (db.campaigns) still in the outbox."""
        return push_memberships(self.ctx)

    # -- Change Owner -------------------------------------------------------------------------

    def change_owner(self, person_id: int, owner_id: str) -> dict[str, Any]:
        """Set the owner of the person's lead or contact to a user, or (leads only) a queue."""
        person = self.db.get_person(person_id)
        linked = in_salesforce(person)
        check_owner(owner_id, str(person["sfdcType"]) if linked else "Lead", person_id)
        if not linked:  # the implied sync creates the lead with this owner: one call
            old = person.get("sfdcOwnerId")
            person = self.pusher.sync_person(person_id, owner_id=owner_id)
            self._owner_changed(person_id, str(person.get("sfdcType")), old, owner_id, True)
            return self.db.get_person(person_id)
        ref = sf_ref(person)
        if ref.owner_id == owner_id:
            return person
        [result] = collections.update(
            self.client, ref.object, [{"Id": ref.id, "OwnerId": owner_id}]
        )
        if not result.success:
            raise self.ctx.fail(
                person_id,
                activity.CHANGE_OWNER,
                {"oldOwnerId": ref.owner_id, "newOwnerId": owner_id, "sfdcType": ref.object},
                sfdc_object=ref.object,
                sfdc_id=ref.id,
                errors=result.errors,
            )
        with self.db.transaction() as conn:
            conn.execute(
                update(persons)
                .where(persons.c.id == person_id)
                .values(sfdc_owner_id=owner_id, updated_at=self.clock())
            )
        self._owner_changed(person_id, ref.object, ref.owner_id, owner_id, False)
        return self.db.get_person(person_id)

    def _owner_changed(
        self, person_id: int, kind: str, old: str | None, new: str, synced: bool
    ) -> None:
        attributes = {
            "oldOwnerId": old,
            "newOwnerId": new,
            "sfdcType": kind,
            "success": True,
            "source": LOCAL,
            **({"impliedSync": True} if synced else {}),
        }
        with self.db.transaction() as conn:
            activity.add_activity(conn, person_id, activity.CHANGE_OWNER, attributes, self.clock())

    # -- Create Task --------------------------------------------------------------------------

    def create_task(
        self,
        person_id: int,
        subject: str,
        *,
        description: str = "",
        due_in_days: int = DEFAULT_DUE_IN_DAYS,
        owner_id: str | None = None,
        priority: str = "Normal",
    ) -> str:
        """A Salesforce Task on the person's lead or contact; returns the Task id.

        Subject and description take `{{lead.field}}` tokens (see `tokens`). Due today +
        `due_in_days`; owned by `owner_id`, else the record's owner (unless a queue owns it:
        then Salesforce gives it to the sync user).
        """
        if not subject.strip():
            raise ValidationError("subject", "a task needs a subject", record_id=person_id)
        if due_in_days < 0:
            raise ValidationError(
                "dueInDays", f"must be 0 or more, got {due_in_days}", record_id=person_id
            )
        if owner_id is not None:
            check_owner(owner_id, "Task", person_id)
        person, ref, _synced = self.ctx.linked(person_id)
        at = self.clock()
        owner = owner_id or ref.owner_id
        record: dict[str, Any] = {
            "WhoId": ref.id,
            "Subject": render(subject, person, at),
            "ActivityDate": (at.date() + dt.timedelta(days=due_in_days)).isoformat(),
            "Priority": priority,
        }
        if description:
            record["Description"] = render(description, person, at)
        if owner and not owner.startswith(QUEUE_PREFIX):
            record["OwnerId"] = owner
        attributes = {
            "subject": record["Subject"],
            "dueDate": record["ActivityDate"],
            "ownerId": record.get("OwnerId"),
            "priority": priority,
            "whoId": ref.id,
        }
        [result] = collections.create(self.client, "Task", [record])
        if not result.success or result.id is None:
            raise self.ctx.fail(
                person_id,
                CREATE_TASK,
                attributes,
                sfdc_object="Task",
                sfdc_id=ref.id,
                errors=result.errors,
            )
        with self.db.transaction() as conn:
            activity.add_activity(
                conn,
                person_id,
                CREATE_TASK,
                {**attributes, "taskId": result.id, "success": True, "source": LOCAL},
                at,
                sfdc_id=result.id,
            )
        return result.id

    # -- Delete Person from SFDC ------------------------------------------------------------

    def delete_from_salesforce(self, person_id: int) -> dict[str, Any]:
        """Delete the person's lead or contact in Salesforce; the person stays, with
        `sfdcIsDeleted` true. A person not in Salesforce is left as it is."""
        person = self.db.get_person(person_id)
        if not in_salesforce(person):
            return person
        ref = sf_ref(person)
        [result] = collections.delete(self.client, [ref.id])
        attributes = {"sfdcType": ref.object, "sfdcId": ref.id}
        if not result.success and result.error_code not in GONE:
            raise self.ctx.fail(
                person_id,
                activity.DELETE_LEAD_FROM_SFDC,
                attributes,
                sfdc_object=ref.object,
                sfdc_id=ref.id,
                errors=result.errors,
            )
        at = self.clock()
        with self.db.transaction() as conn:
            conn.execute(
                update(persons)
                .where(persons.c.id == person_id)
                .values(sfdc_is_deleted=True, updated_at=at)
            )
            activity.add_activity(
                conn,
                person_id,
                activity.DELETE_LEAD_FROM_SFDC,
                {**attributes, "success": True, "source": LOCAL},
                at,
            )
        return self.db.get_person(person_id)

    # -- Convert Person -----------------------------------------------------------------------

    def convert_person(
        self,
        person_id: int,
        *,
        opportunity_name: str | None = None,
        create_opportunity: bool = True,
        converted_status: str | None = None,
        owner_id: str | None = None,
    ) -> dict[str, Any]:
        """Convert the person's lead (SOAP convertLead) into a new contact, account and, unless
        `create_opportunity` is False, opportunity; the same person becomes the contact."""
        person = self.db.get_person(person_id)
        if in_salesforce(person) and person["sfdcType"] == "Contact":
            raise ValidationError(
                "sfdcType",
                f"already a contact ({person['sfdcContactId']}): only a lead can be converted",
                record_id=person_id,
            )
        if owner_id is not None:
            check_owner(owner_id, "Contact", person_id)
        person, ref, synced = self.ctx.linked(person_id)
        status = converted_status or self._converted_status()
        request = soap.LeadConvert(
            lead_id=ref.id,
            converted_status=status,
            owner_id=owner_id,
            opportunity_name=opportunity_name,
            create_opportunity=create_opportunity,
        )
        [result] = soap.convert_leads(self.client, [request])
        if not result.success or not result.contact_id or not result.account_id:
            raise self.ctx.fail(
                person_id,
                activity.CONVERT_LEAD,
                {"sfdcLeadId": ref.id, "convertedStatus": status},
                sfdc_object="Lead",
                sfdc_id=ref.id,
                errors=result.errors,
            )
        contact, account = self._read_back(result.contact_id, result.account_id)
        at = self.clock()
        with self.db.transaction() as conn:
            self._store_account(conn, person_id, account, at)
            self._store_contact(conn, person_id, contact, at)
            if person.get("leadStatus") != status:
                person_api.update_person(
                    conn, person_id, {"leadStatus": status}, source=SALESFORCE, at=at
                )
            attributes = {
                "sfdcLeadId": ref.id,
                "sfdcContactId": result.contact_id,
                "sfdcAccountId": result.account_id,
                "sfdcOpportunityId": result.opportunity_id,
                "convertedStatus": status,
                "success": True,
                "source": LOCAL,
                **({"impliedSync": True} if synced else {}),
            }
            activity.add_activity(conn, person_id, activity.CONVERT_LEAD, attributes, at)
        return self.db.get_person(person_id)

    def _converted_status(self) -> str:
        """The org's converted lead status (the first by sort order), cached."""

        def load() -> str:
            query = soql.select(
                "LeadStatus",
                ("MasterLabel",),
                where="IsConverted = true",
                order_by=("SortOrder",),
                limit=1,
            )
            rows = self.client.query(query)
            if not rows:
                raise FatalSalesforceError(
                    "NO_CONVERTED_STATUS", "the org has no lead status with IsConverted = true"
                )
            return str(rows[0]["MasterLabel"])

        return self._lookups.get("converted-status", load)

    def _plan(self, spec_name: str) -> ReadPlan:
        spec = CONTACT if spec_name == "Contact" else ACCOUNT
        visible = self.describe.fields(spec.name)
        known = self._plans.get(spec.name)
        if known is None or known[0] is not visible:
            known = (visible, plan(spec, visible, self.db.mapping, rules=self._rules()))
            self._plans[spec.name] = known
        return known[1]

    def _rules(self) -> FieldRules | None:
        """The pusher's field rules, so a baseline holds exactly the fields the pull reads."""
        rules = getattr(self.pusher, "rules", None)
        return rules if isinstance(rules, FieldRules) else None

    def _read_back(self, contact_id: str, account_id: str) -> tuple[SfRecord, SfRecord]:
        """The new contact and account as the pull reads them (one composite call), so their
        links get the baselines and stamps the next pull compares with: it changes nothing."""
        plans = {"Contact": self._plan("Contact"), "Account": self._plan("Account")}
        ids = {"Contact": contact_id, "Account": account_id}
        base = self.client.base_path
        subrequests = [
            {
                "method": "GET",
                "url": f"{base}/query?"
                + urlencode(
                    {"q": soql.select(name, p.select, where=f"Id = {soql.quote(ids[name])}")}
                ),
                "referenceId": name,
            }
            for name, p in plans.items()
        ]
        found: dict[str, SfRecord] = {}
        for response in self.client.composite(subrequests):
            name = str(response.get("referenceId"))
            body = response.get("body")
            records = body.get("records") if isinstance(body, dict) else None
            if int(response.get("httpStatusCode", 500)) >= 300 or not records:
                raise FatalSalesforceError(
                    "READ_BACK_FAILED", f"cannot read the converted {name} {ids[name]}: {body}"
                )
            found[name] = decode(plans[name], records[0])
        return found["Contact"], found["Account"]

    def _store_account(
        self, conn: Connection, person_id: int, account: SfRecord, at: dt.datetime
    ) -> None:
        """The lead's own company row becomes the new account's company (no second row)."""
        row = person_row(conn, person_id)
        taken = conn.scalar(select(companies.c.id).where(companies.c.sfdc_account_id == account.id))
        if taken is None and row.company_id is not None:
            own = conn.scalar(
                select(companies.c.id).where(
                    companies.c.id == row.company_id, companies.c.sfdc_account_id.is_(None)
                )
            )
            if own is not None:
                conn.execute(
                    update(companies)
                    .where(companies.c.id == own)
                    .values(sfdc_account_id=account.id, updated_at=at)
                )
        store_company(conn, self._plan("Account"), account, at)

    def _store_contact(
        self, conn: Connection, person_id: int, contact: SfRecord, at: dt.datetime
    ) -> None:
        account_id = contact.sync.get("AccountId")
        company_id = company_for_account(conn, str(account_id), at) if account_id else None
        conn.execute(
            update(persons)
            .where(persons.c.id == person_id)
            .values(
                sfdc_type="Contact",
                sfdc_contact_id=contact.id,
                sfdc_owner_id=contact.sync.get("OwnerId"),
                company_id=company_id,
                updated_at=at,
            )
        )
        # The person's values stay: any that differ from the contact's are local edits the
        # next push sends, exactly as the three-way merge reads them against this baseline.
        save_link(conn, contact, "person", person_id, at)
