"""No secret (password, client secret, access token) in any output of the CLI, verbose or not,
successful or failing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .cli_support import Served, invoke, served_org

CLIENT_SECRET = "leadsync-secret"  # the emulator's: it must match for the login to work
WRONG_PASSWORD = "Wr0ng-Pa55-4a1b9c"
DB_PASSWORD = "db-Pa55-77f3e1"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from served_org(tmp_path, monkeypatch, records=20)


def issued_tokens(served: Served) -> list[str]:
    return list(served.org.sessions._sessions)


def test_no_secret_in_any_output(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_SALESFORCE_CLIENT_SECRET", CLIENT_SECRET)
    outputs = []
    commands = [
        ("sync", "--once", "--verbose"),
        ("sync", "--once"),
        ("status",),
        ("status", "--json"),
        ("errors", "--json"),
        ("config",),
        ("config", "--json"),
        ("check",),
        ("check", "--json"),
        ("person", "create", "--set", "lastName=Secret", "--json"),
        ("person", "sync-to-salesforce", "1", "--json"),
        ("person", "get", "1", "--json"),
        ("person", "activities", "1", "--json"),
    ]
    for command in commands:
        result = invoke(*command)
        assert result.code == 0, (command, result.output)
        outputs.append(result.output)
    monkeypatch.setenv("LEADSYNC_SALESFORCE_PASSWORD", WRONG_PASSWORD)
    for command in (
        ("sync", "--once", "--verbose"),
        ("check",),
        ("config",),
        ("person", "sync-to-salesforce", "1"),
    ):
        result = invoke(*command)
        outputs.append(result.output)
    monkeypatch.setenv(
        "LEADSYNC_DATABASE_URL", f"postgresql://leads:{DB_PASSWORD}@127.0.0.1:1/none"
    )
    for command in (("status",), ("config", "--json"), ("sync", "--once")):
        result = invoke(*command)
        outputs.append(result.output)
    text = "\n".join(outputs)
    assert "login refused" in text or "AUTHENTICATION" in text  # the failures did happen
    tokens = issued_tokens(served)
    assert tokens
    for secret in (CLIENT_SECRET, WRONG_PASSWORD, DB_PASSWORD, *tokens):
        assert secret not in text
    assert "Traceback" not in text, text[text.find("Traceback") - 2000 :][:4000]
    assert "Bearer" not in text
