"""A `requests` transport adapter that sends Salesforce's https URLs to the local emulator.

Real clients hard-code `https://login.salesforce.com` (tap-salesforce) or force `https://` on
every URL they build (simple-salesforce). Rewriting the URL prefix in the transport, before the
connection is chosen, is the only adaptation they need: the client code stays unmodified.

This module depends on `requests` alone, because `sitecustomize.py` also loads it by file path
inside tap-salesforce's own virtual environment, where leadsync is not installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

# Hosts the clients reach on their own; the emulator may also advertise EMULATOR_HOST as its
# instance URL, so that the same adapter catches the calls that follow the login.
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")
EMULATOR_HOST = "https://emulator.local"


class RedirectAdapter(HTTPAdapter):
    """Rewrites `source` prefixes to `target` (e.g. `http://127.0.0.1:8484`) on every send."""

    def __init__(self, rewrites: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Longest prefix first, so a more specific rule wins over a shorter one.
        self.rewrites = sorted(rewrites.items(), key=lambda item: -len(item[0]))

    def rewrite(self, url: str) -> str:
        lowered = url.lower()
        for source, target in self.rewrites:
            if lowered.startswith(source.lower()) and _at_boundary(url, len(source)):
                return target.rstrip("/") + url[len(source) :]
        return url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if request.url:
            request.url = self.rewrite(request.url)
        return super().send(request, *args, **kwargs)


def _at_boundary(url: str, position: int) -> bool:
    # "https://emulator.local" must not capture "https://emulator.localhost".
    return position == len(url) or url[position] in "/?#:"


def source_prefixes(target: str, extra: Iterable[str] = ()) -> list[str]:
    """The https prefixes to send to `target`: the login hosts, the advertised emulator host,
    and `target` itself with https (simple-salesforce rebuilds `https://host:port` from an
    `http://` instance URL)."""
    parts = urlsplit(target)
    prefixes = [*LOGIN_HOSTS, EMULATOR_HOST, f"https://{parts.netloc}", *extra]
    return list(dict.fromkeys(prefix.rstrip("/") for prefix in prefixes))


def mount(session: requests.Session, target: str, extra: Iterable[str] = ()) -> requests.Session:
    """Mount the rewriting adapter on `session` for every prefix that must reach `target`."""
    prefixes = source_prefixes(target, extra)
    adapter = RedirectAdapter({prefix: target for prefix in prefixes})
    for prefix in prefixes:
        # requests picks the longest matching mount prefix, so these win over a client's own
        # generic "https://" adapter mounted later.
        session.mount(prefix, adapter)
    return session


def redirected_session(target: str, extra: Iterable[str] = ()) -> requests.Session:
    return mount(requests.Session(), target, extra)
