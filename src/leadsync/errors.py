"""leadsync's one error tree. Every error leadsync raises on purpose derives from `LeadsyncError`.

```
LeadsyncError
├── ConfigError                  bad or missing settings (leadsync.toml, LEADSYNC_* env)
├── DatabaseError                the lead database cannot be opened or used
│   └── MigrationError           the schema cannot be brought to the current revision
├── NotFound                     a record asked for by id or key does not exist
│   └── PersonNotFound
├── ValidationError              bad local input: names the record and the field
└── SalesforceError              Salesforce said no; grouped by what to do next
    ├── RetriableError           back off and try again (503, UNABLE_TO_LOCK_ROW, timeouts)
    ├── ReauthRequired           the session expired: log in again, then retry (401)
    ├── AuthenticationError      the login itself was refused or could not be made
    ├── RecordError              one record failed (validation, required, format): log it
    │                            on the person, keep the rest of the batch
    ├── FatalSalesforceError     configuration-level failure: stop the job
    └── BudgetExhausted          the API budget (ours or the org's) is spent: stop for now
```

Errors carry context (record ids, field names, Salesforce error codes) and never a secret:
messages are built from ids, names and codes, not from credentials or tokens. They are turned
into exit codes and HTTP answers only at the edges (CLI, HTTP API).
"""

from __future__ import annotations

from collections.abc import Iterable


class LeadsyncError(Exception):
    """The root: `except LeadsyncError` catches every error leadsync raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- Configuration and storage -------------------------------------------------------------


class ConfigError(LeadsyncError):
    """A setting is missing or invalid; the message names the setting, never its secret value."""


class DatabaseError(LeadsyncError):
    """The lead database cannot be opened or used (bad URL, server unreachable, ...)."""


class MigrationError(DatabaseError):
    """The database schema cannot be upgraded to the revision this leadsync expects."""


# -- Local records --------------------------------------------------------------------------


class NotFound(LeadsyncError):
    """A record asked for by id or key does not exist."""

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key!r} not found")
        self.entity = entity
        self.key = key


class PersonNotFound(NotFound):
    def __init__(self, key: object) -> None:
        super().__init__("person", key)


class ValidationError(LeadsyncError):
    """Bad local input. `record_id` is None for a record not created yet."""

    def __init__(self, field: str, problem: str, *, record_id: int | None = None) -> None:
        where = f"person {record_id}" if record_id is not None else "new person"
        super().__init__(f"{where}: field {field!r}: {problem}")
        self.field = field
        self.problem = problem
        self.record_id = record_id


# -- Salesforce -----------------------------------------------------------------------------


class SalesforceError(LeadsyncError):
    """Salesforce refused a call or a record.

    `code` is Salesforce's own error code (`INVALID_SESSION_ID`, `REQUIRED_FIELD_MISSING`,
    `FIELD_CUSTOM_VALIDATION_EXCEPTION`, ...), `fields` the fields it blames, `object` and
    `record_id` the record concerned when known.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: Iterable[str] = (),
        object: str | None = None,
        record_id: str | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code
        self.fields = tuple(fields)
        self.object = object
        self.record_id = record_id
        self.status = status
        super().__init__(_describe(code, message, self.fields, object, record_id))
        self.message = message


def _describe(
    code: str, message: str, fields: tuple[str, ...], obj: str | None, record_id: str | None
) -> str:
    text = f"{code}: {message}" if code else message
    if obj or record_id:
        text += f" [{' '.join(p for p in (obj, record_id) if p)}]"
    if fields:
        text += f" (fields: {', '.join(fields)})"
    return text


class RetriableError(SalesforceError):
    """Transient: busy row lock, server unavailable, timeout. Back off and try again."""


class ReauthRequired(SalesforceError):
    """The session is no longer valid; log in again, then retry the call."""


class AuthenticationError(SalesforceError):
    """Logging in failed: credentials refused, key unreadable, login server unreachable."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__("AUTHENTICATION_FAILED", message, status=status)


class RecordError(SalesforceError):
    """One record failed (validation rule, required field, bad format); the batch goes on."""


class FatalSalesforceError(SalesforceError):
    """A failure no retry will fix (configuration, permissions, unknown object): stop the job."""


class BudgetExhausted(SalesforceError):
    """The share of the daily API budget leadsync may use is spent: stop until it recovers."""

    def __init__(self, message: str, *, code: str = "REQUEST_LIMIT_EXCEEDED") -> None:
        super().__init__(code, message)
