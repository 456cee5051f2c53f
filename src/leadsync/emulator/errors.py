"""Errors the emulated org raises, shaped like Salesforce's own.

    SalesforceError            one error code, message, HTTP status and fields
    ├── QueryError             SOQL problems (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE)
    └── AuthError              OAuth token endpoint failures ({"error", "error_description"})

Every error is translated to its wire envelope only at the HTTP edge (`app.py`, `soap.py`).
"""

from __future__ import annotations

from typing import Any


class SalesforceError(Exception):
    """A Salesforce error code with the HTTP status REST answers it with."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        fields: list[str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = list(fields or [])

    def as_rest(self) -> list[dict[str, Any]]:
        """The REST envelope: a JSON list of one error."""
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]

    def as_record_error(self) -> dict[str, Any]:
        """The per-record shape used by collections, composite batch and SOAP results."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class QueryError(SalesforceError):
    """A SOQL statement that cannot run."""


class AuthError(Exception):
    """An OAuth token endpoint failure: `{"error": ..., "error_description": ...}`."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def not_found() -> SalesforceError:
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", 404)


def invalid_session() -> SalesforceError:
    return SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", 401)


def malformed_query(message: str) -> QueryError:
    return QueryError("MALFORMED_QUERY", message)


def json_parser_error(detail: str) -> SalesforceError:
    return SalesforceError("JSON_PARSER_ERROR", detail)
