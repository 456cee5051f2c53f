"""The REST client: one place where calls are sent, retried, re-authenticated and counted.

Errors are classified by what the caller should do next (see `leadsync.errors`):
retriable ones are retried here with bounded exponential backoff; an expired session is
renewed once; a spent budget stops the caller; record-level errors are returned per record.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import (
    BudgetExhausted,
    FatalSalesforceError,
    ReauthRequired,
    RetriableError,
    SalesforceError,
)
from .auth import Credentials, Token, authenticate

DEFAULT_API_VERSION = "62.0"
RETRIABLE_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT", "REQUEST_RUNNING_TOO_LONG"}
)
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


MAX_RENEWALS = 3  # session renewals within one call


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class ApiUsage:
    """The org's daily API usage as last reported by `Sforce-Limit-Info`, and our own count."""

    used: int | None = None
    maximum: int | None = None
    calls: int = 0
    retries: int = 0

    def share(self) -> float | None:
        if self.used is None or not self.maximum:
            return None
        return self.used / self.maximum


# Salesforce takes 25 sub-requests in one `/composite` call, of which at most 5 may be
# queries (Query, QueryAll, Query More) or sObject Collections.
COMPOSITE_QUERIES = 5
_QUERY_URL = re.compile(r"/(query|queryAll)(/|\?|$)")


@dataclass
class SalesforceClient:
    """A logged-in connection to one org.

    `http` may be any httpx.Client (a Starlette TestClient drives the emulator in-process);
    `budget_share` stops calls once the org's reported usage reaches that share of its limit.
    """

    credentials: Credentials
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=120))
    api_version: str = DEFAULT_API_VERSION
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget_share: float | None = None
    sleep: Callable[[float], None] = time.sleep
    usage: ApiUsage = field(default_factory=ApiUsage)
    _token: Token | None = field(default=None, repr=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(7), repr=False)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        if self._token is None:
            self._token = authenticate(self.http, self.credentials)
        return self._token

    @property
    def base_path(self) -> str:
        return f"/services/data/v{self.api_version}"

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if not path.startswith("/"):
            path = f"{self.base_path}/{path}"
        return self.token.instance_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
    ) -> httpx.Response:
        """Send one API call; retry what is retriable, renew the session once, raise the rest."""
        response, _ = self._call(method, path, json, params, headers, content, parse=False)
        return response

    def request_json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Like `request`, and a body cut short (a dropped connection) is retried too."""
        _, body = self._call(method, path, json, params, headers, None, parse=True)
        return body

    def _call(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        content: bytes | str | None,
        *,
        parse: bool,
    ) -> tuple[httpx.Response, Any]:
        just_renewed = False  # a 401 straight after a fresh login is not worth a third try
        renewals = 0
        attempt = 0
        while True:
            self._check_budget()
            error = None
            try:
                response = self._send(
                    method, path, json=json, params=params, headers=headers, content=content
                )
                if response.status_code < 300:
                    return response, response.json() if parse else None
                error = classify(response, method, path)
            except httpx.TransportError as exc:
                error = RetriableError(
                    "CONNECTION_ERROR", f"{type(exc).__name__} calling {method} {path}"
                )
            except ValueError:
                error = RetriableError(
                    "TRUNCATED_RESPONSE", f"unreadable body from {method} {path}"
                )
            if isinstance(error, ReauthRequired) and not just_renewed and renewals < MAX_RENEWALS:
                # Sessions expire at any time (another login, an admin, a timeout); a 401
                # after a retried fault deserves a fresh session just like the first one.
                just_renewed = True
                renewals += 1
                self._token = None
                continue
            just_renewed = False
            if isinstance(error, RetriableError) and attempt + 1 < self.retry.attempts:
                self.usage.retries += 1
                self.sleep(self.retry.delay(attempt, self._rng))
                attempt += 1
                continue
            raise error

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token.access_token}",
            **(kwargs.pop("headers") or {}),
        }
        self.usage.calls += 1
        response = self.http.request(method, self.url(path), headers=headers, **kwargs)
        self._track(response)
        return response

    def _track(self, response: httpx.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("sforce-limit-info", ""))
        if match:
            self.usage.used, self.usage.maximum = int(match[1]), int(match[2])

    def _check_budget(self) -> None:
        share = self.usage.share()
        if self.budget_share is not None and share is not None and share >= self.budget_share:
            raise BudgetExhausted(
                f"API budget reached: {self.usage.used} of {self.usage.maximum} daily requests "
                f"used (cap {self.budget_share:.0%})"
            )

    # -- REST resources ---------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self.request_json("GET", path, params=params)

    def query_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a query's records, following `nextRecordsUrl`."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        resource = "queryAll" if include_deleted else "query"
        body = self.request_json("GET", resource, params={"q": soql}, headers=headers)
        while True:
            yield body["records"]
            if body.get("done", True):
                return
            body = self.request_json("GET", body["nextRecordsUrl"], headers=headers)

    def query(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [r for page in self.query_pages(soql, include_deleted=include_deleted) for r in page]

    def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get_json("limits")
        return result

    def composite(
        self, subrequests: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """Up to 25 sub-requests in one API call, at most `COMPOSITE_QUERIES` of them queries;
        returns their responses in order."""
        if len(subrequests) > 25:
            raise ValueError("a composite request holds at most 25 sub-requests")
        queries = sum(1 for r in subrequests if _QUERY_URL.search(str(r.get("url", ""))))
        if queries > COMPOSITE_QUERIES:
            raise ValueError(f"a composite request holds at most {COMPOSITE_QUERIES} queries")
        body = {"allOrNone": all_or_none, "compositeRequest": list(subrequests)}
        answer = self.request_json("POST", "composite", json=body)
        responses: list[dict[str, Any]] = answer["compositeResponse"]
        return responses


def classify(response: httpx.Response, method: str, path: str) -> SalesforceError:
    """The error a failed response stands for, by what the caller should do next."""
    code, message, fields = _first_error(response)
    where = f"{method} {path.split('?')[0]}"
    status = response.status_code
    if status == 401 or code == "INVALID_SESSION_ID":
        return ReauthRequired(code or "INVALID_SESSION_ID", f"session expired ({where})")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return BudgetExhausted(f"the org's API request limit is exhausted ({where}): {message}")
    if status >= 500 or status in (408, 429) or code in RETRIABLE_CODES:
        return RetriableError(code or f"HTTP_{status}", f"{message} ({where})")
    return FatalSalesforceError(code or f"HTTP_{status}", f"{message} ({where})", fields=fields)


def _first_error(response: httpx.Response) -> tuple[str, str, list[str]]:
    try:
        body = response.json()
    except ValueError:
        return "", f"HTTP {response.status_code}", []
    if isinstance(body, list) and body and isinstance(body[0], Mapping):
        first = body[0]
        return (
            str(first.get("errorCode") or first.get("statusCode") or ""),
            str(first.get("message", "")),
            [str(f) for f in first.get("fields") or []],
        )
    if isinstance(body, Mapping):
        return str(body.get("error", "")), str(body.get("error_description", "")), []
    return "", f"HTTP {response.status_code}", []
