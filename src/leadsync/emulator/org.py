"""The running org: its definition, storage, clock, sessions, API budget and faults."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import orgfile
from .clock import Clock
from .faults import FaultInjector
from .ids import KEY_PREFIXES, make_id
from .limits import ApiCounter
from .orgfile import OrgDefinition
from .schema import Profile, Schema
from .sessions import SessionManager
from .standard_objects import CONVERTED_LEAD_STATUS, LEAD_STATUSES
from .store import Store

ORG_ID = make_id(KEY_PREFIXES["Organization"], 1)
API_VERSIONS = [f"{n}.0" for n in range(31, 68)]
LATEST_VERSION = API_VERSIONS[-1]


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    profile: Profile
    is_active: bool


def hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


class Org:
    """Everything one emulated org is made of. Routes reach it through the request context."""

    def __init__(
        self,
        definition: OrgDefinition | None = None,
        db_path: str | None = None,
        *,
        instance_url: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.definition = definition or orgfile.load()
        self.id = ORG_ID
        self.clock = clock or Clock()  # a frozen one stamps the bootstrap users in the past
        self.store = Store(db_path, self.definition.schema)
        self.limits = ApiCounter(self.store, self.clock, self.definition.api_request_limit)
        self.sessions = SessionManager(
            self.clock, self.id, self.definition.session_lifetime_seconds
        )
        self.faults = FaultInjector()
        for spec in self.definition.faults:
            self.faults.add(spec)
        # Set by the server once it knows its own address; clients are sent here after login.
        self.instance_url = instance_url or "http://127.0.0.1:8484"
        self.extensions: dict[str, Any] = {}
        self._bootstrap()

    @classmethod
    def from_file(cls, path: str | Path | None, db_path: str | None = None) -> Org:
        return cls(orgfile.load(path), db_path)

    @property
    def schema(self) -> Schema:
        return self.definition.schema

    # -- users ------------------------------------------------------------------------------

    def _bootstrap(self) -> None:
        """Create the org's fixed rows (profiles, users, queues, lead statuses) once."""
        if self.store.meta_get("bootstrapped") == "1":
            return
        from .dml import system_insert  # late: dml imports org-level helpers

        now = self.clock.now()
        [org_row] = system_insert(
            self,
            "Organization",
            [
                {
                    "Name": self.definition.name,
                    "IsSandbox": 0,
                    "OrganizationType": "Enterprise Edition",
                    "InstanceName": "EMU1",
                    "TimeZoneSidKey": "GMT",
                    "LanguageLocaleKey": "en_US",
                    "DefaultLocaleSidKey": "en_US",
                }
            ],
            now=now,
        )
        assert org_row == self.id, "the Organization row carries the org id"
        profile_ids = {}
        for name in self.definition.profiles:
            [row_id] = system_insert(self, "Profile", [{"Name": name}], now=now)
            profile_ids[name] = row_id
        for spec in self.definition.users:
            [user_id] = system_insert(
                self,
                "User",
                [
                    {
                        "Username": spec.username,
                        "FirstName": spec.first_name,
                        "LastName": spec.last_name,
                        "Email": spec.email,
                        "Title": spec.title or None,
                        "Alias": (spec.first_name[:1] + spec.last_name[:4]).lower(),
                        "IsActive": 1,
                        "ProfileId": profile_ids[spec.profile],
                    }
                ],
                now=now,
            )
            salt = secrets.token_hex(8)
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO _emu_credentials (user_id, password_hash, salt) VALUES (?,?,?)",
                    (user_id, hash_password(spec.password, salt), salt),
                )
        for queue in self.definition.queues:
            system_insert(
                self,
                "Group",
                [
                    {
                        "Name": queue.name,
                        "DeveloperName": queue.developer_name,
                        "Type": "Queue",
                        "QueueSobjects": ";".join(queue.objects),
                    }
                ],
                now=now,
            )
        system_insert(
            self,
            "LeadStatus",
            [
                {
                    "MasterLabel": status,
                    "ApiName": status,
                    "SortOrder": position + 1,
                    "IsDefault": 1 if position == 0 else 0,
                    "IsConverted": 1 if status == CONVERTED_LEAD_STATUS else 0,
                }
                for position, status in enumerate(LEAD_STATUSES)
            ],
            now=now,
        )
        with self.store.write() as conn:
            self.store.meta_set(conn, "bootstrapped", "1")

    def find_user(self, username: str) -> UserRecord | None:
        row = (
            self.store.reader()
            .execute(
                'SELECT u."Id", u."Username", p."Name", u."IsActive" FROM "User" u '
                'JOIN "Profile" p ON p."Id" = u."ProfileId" WHERE u."Username" = ?',
                (username,),
            )
            .fetchone()
        )
        if row is None:
            return None
        profile = self.definition.profiles[row[2]]
        return UserRecord(row[0], row[1], profile, bool(row[3]))

    def user_by_id(self, user_id: str) -> UserRecord | None:
        row = (
            self.store.reader()
            .execute('SELECT u."Username" FROM "User" u WHERE u."Id" = ?', (user_id,))
            .fetchone()
        )
        return None if row is None else self.find_user(row[0])

    def check_password(self, user: UserRecord, password: str) -> bool:
        row = (
            self.store.reader()
            .execute(
                "SELECT password_hash, salt FROM _emu_credentials WHERE user_id = ?", (user.id,)
            )
            .fetchone()
        )
        if row is None:
            return False
        return secrets.compare_digest(row[0], hash_password(password, row[1]))

    def assignment_owner(self, object_name: str) -> str | None:
        """The owner the default assignment rule gives new records of `object_name`: a queue
        (by name) or a user (by username); None without an active rule for that object."""
        rule = self.definition.assignment_rule
        if rule is None or not rule.active or rule.object != object_name:
            return None
        reader = self.store.reader()
        row = reader.execute(
            'SELECT "Id" FROM "Group" WHERE "Type" = \'Queue\' AND "Name" = ?', (rule.owner,)
        ).fetchone()
        if row is None:
            row = reader.execute(
                'SELECT "Id" FROM "User" WHERE "Username" = ?', (rule.owner,)
            ).fetchone()
        return None if row is None else str(row[0])

    def default_user_id(self) -> str:
        """The first admin-profile user: owner of records the seed creates."""
        row = (
            self.store.reader().execute('SELECT "Id" FROM "User" ORDER BY "Id" LIMIT 1').fetchone()
        )
        return str(row[0])

    def close(self) -> None:
        from .bulk import JobRegistry  # late: both import this module
        from .query import QueryLocators

        self.limits.flush()
        for extension in list(self.extensions.values()):
            if isinstance(extension, QueryLocators):
                extension.close_all()  # their snapshot connections hold the database open
            elif isinstance(extension, JobRegistry):
                extension.close()
        self.store.close()
