"""What every flow action shares: the implied sync, the person's Salesforce record, the
record of a failure, and a small time-limited cache for lookups.

A failure Salesforce reports about the record an action writes (a validation rule, a bad
owner, ...) is never silent: the person gets the action's activity with `success: false` and
the error code, message and fields; the sync errors list gets a record-level row with the
person id and the Salesforce id; and the caller gets a `RecordError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from ..db import LeadDatabase, sync_state
from ..db import activities as activity
from ..db.changes import LOCAL
from ..errors import RecordError, ValidationError
from ..salesforce.client import SalesforceClient

QUEUE_PREFIX = "00G"  # Group (queue) ids
USER_PREFIX = "005"
LOOKUP_TTL = dt.timedelta(minutes=5)

V = TypeVar("V")


class PersonSyncer(Protocol):
    """The part of `Pusher` the actions need (Sync Person to SFDC)."""

    def sync_person(self, person_id: int, *, owner_id: str | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SfRef:
    """The person's current Salesforce record."""

    object: str  # "Lead" or "Contact"
    id: str
    owner_id: str | None


@dataclass
class ActionContext:
    db: LeadDatabase
    client: SalesforceClient
    pusher: PersonSyncer
    clock: Callable[[], dt.datetime]

    def linked(self, person_id: int) -> tuple[dict[str, Any], SfRef, bool]:
        """The person, its live Salesforce record, and whether the implied Sync Person to
        SFDC ran to create it (a person not in Salesforce, or deleted there, is synced first,
        as Marketo's implied actions do)."""
        person = self.db.get_person(person_id)
        synced = False
        if not in_salesforce(person):
            person = self.pusher.sync_person(person_id)
            synced = True
            if not in_salesforce(person):
                raise ValidationError(
                    "sfdcId", "Sync Person to SFDC did not link it to a lead", record_id=person_id
                )
        return person, sf_ref(person), synced

    def fail(
        self,
        person_id: int,
        activity_type: str,
        attributes: Mapping[str, Any],
        *,
        sfdc_object: str,
        sfdc_id: str | None,
        errors: list[dict[str, Any]],
    ) -> RecordError:
        """Record a refused write (activity + sync error) and return the error to raise."""
        first = errors[0] if errors else {}
        code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR")
        message = str(first.get("message") or "Salesforce refused the record")
        fields = [str(f) for f in first.get("fields") or []]
        at = self.clock()
        with self.db.transaction() as conn:
            activity.add_activity(
                conn,
                person_id,
                activity_type,
                {
                    **attributes,
                    "success": False,
                    "errorCode": code,
                    "errorMessage": message,
                    "fields": fields,
                    "source": LOCAL,
                },
                at,
                sfdc_id=None,
            )
            sync_state.record_error(
                conn,
                at=at,
                level="record",
                code=code,
                message=f"{activity_type}: {message}",
                sfdc_object=sfdc_object,
                person_id=person_id,
                sfdc_id=sfdc_id,
                fields=fields,
            )
        return RecordError(code, message, fields=fields, object=sfdc_object, record_id=sfdc_id)


def in_salesforce(person: Mapping[str, Any]) -> bool:
    return bool(person.get("sfdcType")) and not person.get("sfdcIsDeleted")


def sf_ref(person: Mapping[str, Any]) -> SfRef:
    kind = str(person["sfdcType"])
    sfdc_id = person["sfdcContactId"] if kind == "Contact" else person["sfdcLeadId"]
    return SfRef(kind, str(sfdc_id), person.get("sfdcOwnerId"))


def check_owner(owner_id: str, owned: str, person_id: int) -> None:
    """A user id, or a queue id for a lead (`owned` "Lead"); anything else is refused before
    any call. Contacts and tasks cannot be owned by queues."""
    if not (len(owner_id) in (15, 18) and owner_id.isalnum() and owner_id.isascii()):
        raise ValidationError(
            "ownerId", f"{owner_id!r} is not a Salesforce id", record_id=person_id
        )
    if owner_id.startswith(QUEUE_PREFIX):
        if owned == "Lead":
            return
        hint = "; act only on persons with sfdcType Lead" if owned == "Contact" else ""
        raise ValidationError(
            "ownerId",
            f"a {owned.lower()} cannot be owned by a queue ({owner_id}): give a user id{hint}",
            record_id=person_id,
        )
    if not owner_id.startswith(USER_PREFIX):
        raise ValidationError(
            "ownerId", f"{owner_id} is neither a user nor a queue id", record_id=person_id
        )


@dataclass
class TtlCache(Generic[V]):
    """Lookups (converted status, campaigns) kept for `ttl`, so repeated actions cost no
    extra calls while a change in Salesforce is still seen within minutes."""

    clock: Callable[[], dt.datetime]
    ttl: dt.timedelta = LOOKUP_TTL
    _items: dict[str, tuple[dt.datetime, V]] = field(default_factory=dict)

    def get(self, key: str, load: Callable[[], V]) -> V:
        now = self.clock()
        found = self._items.get(key)
        if found is not None and now - found[0] < self.ttl:
            return found[1]
        value = load()
        self._items[key] = (now, value)
        return value

    def forget(self, key: str) -> None:
        self._items.pop(key, None)
