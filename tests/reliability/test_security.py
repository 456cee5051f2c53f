"""Security: across the whole demo and every CLI command around a sync (`sync --once
--verbose`, `status --json`, `errors --json`, `config --json`, `check`, a failing login, a
per-record error), with unique secrets of this run set through the environment, no output line,
log line or database text (sync_errors, activities, sync_runs, anything) holds the password,
the client secret, an access token the org issued or the JWT private key."""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadsync.emulator import orgfile
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.emulator.server import ServerThread

from ..cli_support import Result, Served, run

TOKEN = re.compile(r"00D[A-Za-z0-9]{12}![A-Za-z0-9_\-]{20,}")
DEMO_SECRETS = ("leadsync-secret",)  # the demo's own client secret (its password is "password")


def private_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return pem, public


@pytest.fixture
def secret_org(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    """An org whose sync user, OAuth client and JWT key are unique to this test run."""
    pem, public = private_key()
    found = {
        "password": "Pw-" + secrets.token_urlsafe(18),
        "client_secret": "Cs-" + secrets.token_urlsafe(24),
        "private_key": pem,
    }
    text = orgfile.demo_definition_path().read_text(encoding="utf-8")
    text = text.replace(
        'username = "sync@example.com"\npassword = "password"',
        f'username = "sync@example.com"\npassword = "{found["password"]}"',
    )
    text = text.replace(
        'client_secret = "leadsync-secret"',
        f'client_secret = "{found["client_secret"]}"\njwt_public_key = """{public}"""',
    )
    assert found["password"] in text and found["client_secret"] in text
    path = tmp_path / "org.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "key.pem").write_text(pem, encoding="utf-8")
    org = Org.from_file(path)
    seed_demo(org, records=40)
    with ServerThread(org) as server:
        yield Served(org, server.url, tmp_path / "leadsync.db"), found
    org.close()


def key_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def leaks(text: str, forbidden: list[str]) -> list[str]:
    found = [s[:12] + "..." for s in forbidden if s and s in text]
    found += [m[:12] + "..." for m in TOKEN.findall(text)]
    if "PRIVATE KEY" in text:
        found.append("PRIVATE KEY")
    return found


def test_no_secret_in_any_output_log_or_database_text(
    secret_org: tuple[Served, dict[str, str]], tmp_path: Path
) -> None:
    served, found = secret_org
    base = served.env(
        LEADSYNC_SALESFORCE_PASSWORD=found["password"],
        LEADSYNC_SALESFORCE_CLIENT_SECRET=found["client_secret"],
    )
    outputs: list[Result] = []

    def cli(*args: str, env: dict[str, str] = base, ok: bool = True) -> Result:
        result = run(*args, env=env, timeout=300)
        if ok:
            assert result.code == 0, (args, result.output)
        assert "Traceback" not in result.output, result.output[-3000:]
        outputs.append(result)
        return result

    cli("demo")
    cli("sync", "--once", "--verbose")
    cli("person", "update", "1", "--set", "title=" + "x" * 300)  # too long for Salesforce
    cli("person", "update", "2", "--set", "title=Fine")
    cli("sync", "--once", "--verbose")
    cli("status", "--json")
    errors = cli("errors", "--json")
    assert "STRING_TOO_LONG" in errors.stdout  # the per-record error did happen
    cli("config", "--json")
    cli("config")
    cli("check")
    wrong = "Wrong-" + secrets.token_urlsafe(12)
    failed = cli(
        "sync", "--once", "--verbose", env={**base, "LEADSYNC_SALESFORCE_PASSWORD": wrong}, ok=False
    )
    assert failed.code != 0
    cli("check", env={**base, "LEADSYNC_SALESFORCE_PASSWORD": wrong}, ok=False)
    jwt = {
        **{k: v for k, v in base.items() if k != "LEADSYNC_SALESFORCE_PASSWORD"},
        "LEADSYNC_SALESFORCE_JWT_KEY_FILE": str(tmp_path / "key.pem"),
    }
    cli("sync", "--once", "--verbose", env=jwt)
    cli("config", "--json", env=jwt)
    cli("check", env=jwt)

    tokens = list(served.org.sessions._sessions)
    assert tokens  # logins did issue access tokens
    forbidden = [found["password"], found["client_secret"], wrong, *tokens]
    forbidden += key_lines(found["private_key"])
    text = "\n".join(r.output for r in outputs)
    assert leaks(text, forbidden + list(DEMO_SECRETS)) == []
    with sqlite3.connect(served.db_path) as conn:
        dump = "\n".join(conn.iterdump())
    assert "STRING_TOO_LONG" in dump and "login" in dump.lower()
    assert leaks(dump, forbidden) == []
    print(
        f"\nsecurity: {len(outputs)} commands, {len(text.splitlines())} output lines, "
        f"{len(dump.splitlines())} database statements scanned for {len(forbidden)} secrets"
    )
