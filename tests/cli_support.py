"""Shared by the CLI tests: an emulated org served on a real socket, the environment that
points leadsync at it, and helpers to run `leadsync` in-process and as a console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadsync.cli import app
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo
from leadsync.emulator.server import ServerThread
from leadsync.salesforce.auth import Credentials
from leadsync.salesforce.client import SalesforceClient

LEADSYNC = str(Path(sys.executable).with_name("leadsync"))
ENV_PREFIX = "LEADSYNC_"


@dataclass
class Served:
    org: Org
    url: str
    db_path: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def env(self, **extra: str) -> dict[str, str]:
        """A subprocess environment pointing leadsync at this org and database only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        env.update(LEADSYNC_SALESFORCE_URL=self.url, LEADSYNC_DATABASE_URL=self.db_url, **extra)
        return env


def served_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records: int | None
) -> Iterator[Served]:
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    org = Org()
    seed_demo(org, records=records)
    with ServerThread(org) as server:
        served = Served(org, server.url, tmp_path / "leadsync.db")
        monkeypatch.setenv("LEADSYNC_SALESFORCE_URL", served.url)
        monkeypatch.setenv("LEADSYNC_DATABASE_URL", served.db_url)
        yield served
    org.close()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke(*args: str) -> Result:
    """`leadsync ARGS` in-process, through the real Typer app."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """`leadsync ARGS` as the venv's console script, in a subprocess."""
    done = subprocess.run(
        [LEADSYNC, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)


def sf_client(served: Served) -> SalesforceClient:
    """The org's admin, over HTTP, through leadsync's connector (close `.http` after)."""
    return SalesforceClient(
        Credentials(
            login_url=served.url,
            username="admin@example.com",
            password="password",
            client_id="leadsync",
            client_secret="leadsync-secret",
        )
    )


def sf_query(served: Served, soql: str) -> list[dict[str, Any]]:
    """Read the org as its admin."""
    client = sf_client(served)
    try:
        return client.query(soql)
    finally:
        client.http.close()
