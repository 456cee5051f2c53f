"""Unmodified tap-salesforce (REST mode) discovers and syncs the emulator with a bookmark.

The tap runs in its own virtual environment (its pins clash with ours; see
`tests/support/tapenv.py`). It hard-codes `https://login.salesforce.com`, so it reaches the
emulator through `tests/support/sitecustomize/`, put on its PYTHONPATH, which mounts the
redirecting adapter on every `requests.Session`. The emulator advertises
`https://emulator.local` as its instance URL, which the same adapter maps back here.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from leadsync.emulator import writes
from leadsync.emulator.dml import system_insert
from leadsync.emulator.oauth_flow import mint_refresh_token
from leadsync.emulator.org import Org
from leadsync.emulator.server import ServerThread
from leadsync.emulator.sessions import Session
from tests.support.redirect import EMULATOR_HOST
from tests.support.tapenv import TAP_VERSION, ensure_tap_venv

pytestmark = pytest.mark.external

SITECUSTOMIZE_DIR = Path(__file__).resolve().parents[1] / "support" / "sitecustomize"
STREAMS = ("Lead", "Contact", "Account")
CLIENT_ID = "leadsync"
CLIENT_SECRET = "leadsync-secret"
TAP_TIMEOUT = 300
LEADS_PER_GENERATION = (2_100, 4, 4)


@pytest.fixture(scope="module")
def tap(pytestconfig: pytest.Config) -> Path:
    """The tap's executable; installing it is a one-time cost, shown live on the terminal."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def log(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"[tap-venv] {message}", flush=True)

    return ensure_tap_venv(log=log)


@pytest.fixture
def served(org: Org) -> Iterator[ServerThread]:
    # Stamp rows in the past: the tap only bookmarks values at or before its own real "now".
    org.clock.freeze(float(int(time.time()) - 86_400))
    with ServerThread(org, advertise=EMULATOR_HOST) as running:
        yield running


class TapRun:
    """What one tap invocation printed: Singer messages on stdout, its log on stderr."""

    def __init__(self, stdout: str, stderr: str) -> None:
        self.stdout = stdout
        self.messages = [json.loads(line) for line in stdout.splitlines() if line.strip()]
        self.stderr = stderr

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def record_counts(self) -> Counter[str]:
        return Counter(m["stream"] for m in self.messages if m["type"] == "RECORD")

    def final_state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        assert states, "the tap emitted no STATE message\n" + self.stderr[-3000:]
        state: dict[str, Any] = states[-1]
        return state


class Tap:
    """Runs the installed tap against the served emulator, with config files in `workdir`."""

    def __init__(self, executable: Path, server: ServerThread, workdir: Path) -> None:
        self.executable = executable
        self.server = server
        self.workdir = workdir
        self.config = workdir / "config.json"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(SITECUSTOMIZE_DIR)
        env["LEADSYNC_EMULATOR_URL"] = self.server.url
        return env

    def write_config(self, refresh_token: str) -> None:
        config = {
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "start_date": "2000-01-01T00:00:00Z",
            "api_type": "REST",
            "select_fields_by_default": True,
        }
        self.config.write_text(json.dumps(config))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [str(self.executable), "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            env=self.environment(),
            cwd=self.workdir,
            timeout=TAP_TIMEOUT,
            check=False,
        )
        (self.workdir / "tap.log").open("a").write(completed.stderr)
        assert completed.returncode == 0, (
            f"tap-salesforce {' '.join(args)} exited {completed.returncode}:\n"
            + completed.stderr[-5000:]
        )
        return completed

    def discover(self) -> dict[str, Any]:
        catalog: dict[str, Any] = json.loads(self.run("--discover").stdout)
        return catalog

    def sync(self, catalog: dict[str, Any], state: dict[str, Any], name: str) -> TapRun:
        catalog_path = self.workdir / "catalog.json"
        state_path = self.workdir / f"state-{name}.json"
        catalog_path.write_text(json.dumps(catalog))
        state_path.write_text(json.dumps(state))
        # tap-salesforce 2.8.1 reads the selection only from `--properties` (singer's older
        # name for the catalog); given `--catalog` alone it logs in and silently syncs nothing.
        completed = self.run("--properties", str(catalog_path), "--state", str(state_path))
        return TapRun(completed.stdout, completed.stderr)


def select_streams(catalog: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Mark `names` selected, incremental on SystemModstamp, as a Singer user would."""
    chosen = []
    for stream in catalog["streams"]:
        if stream["tap_stream_id"] not in names:
            continue
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                assert entry["metadata"]["valid-replication-keys"] == ["SystemModstamp"]
                entry["metadata"].update(
                    {
                        "selected": True,
                        "replication-method": "INCREMENTAL",
                        "replication-key": "SystemModstamp",
                    }
                )
        chosen.append(stream)
    assert sorted(s["tap_stream_id"] for s in chosen) == sorted(names)
    return {"streams": chosen}


def seed(org: Org) -> None:
    """Rows in several timestamp generations, so the maximum SystemModstamp is meaningful."""
    for generation in range(3):
        accounts = system_insert(
            org, "Account", [{"Name": f"Acme {generation}-{n}"} for n in range(2)]
        )
        system_insert(
            org,
            "Contact",
            [
                {"LastName": f"Contact {generation}-{n}", "AccountId": accounts[n % 2]}
                for n in range(3)
            ],
        )
        # Generation 0 is more than a page (2,000 rows), so the tap follows nextRecordsUrl.
        system_insert(
            org,
            "Lead",
            [
                {"LastName": f"Lead {generation}-{n}", "Company": "Leads Inc", "Status": "Open"}
                for n in range(LEADS_PER_GENERATION[generation])
            ],
        )
        org.clock.advance(17)
    # A deleted row: the tap reads with queryAll, so it must come back with IsDeleted true.
    [result] = writes.delete(org, admin_session(org), [_ids(org, "Lead")[0]])
    assert result.success, result.as_json()


def admin_session(org: Org) -> Session:
    user = org.find_user("admin@example.com")
    assert user is not None
    return org.sessions.issue(user.id, user.username, user.profile, CLIENT_ID)


def _ids(org: Org, obj: str) -> list[str]:
    rows = org.store.reader().execute(f'SELECT "Id" FROM "{obj}" ORDER BY "Id"').fetchall()
    return [str(r[0]) for r in rows]


def _modstamps(org: Org, obj: str) -> dict[str, int]:
    rows = org.store.reader().execute(f'SELECT "Id", "SystemModstamp" FROM "{obj}"').fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def _bookmark(state: dict[str, Any], stream: str) -> int:
    value = state["bookmarks"][stream]["SystemModstamp"]
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


def test_tap_discovers_and_syncs_incrementally(
    tap: Path, served: ServerThread, org: Org, tmp_path: Path
) -> None:
    seed(org)
    runner = Tap(tap, served, tmp_path)
    runner.write_config(
        mint_refresh_token(served.url, "sync@example.com", "password", CLIENT_ID, CLIENT_SECRET)
    )

    catalog = runner.discover()
    discovered = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(STREAMS) <= set(discovered)
    lead_schema = discovered["Lead"]["schema"]["properties"]
    assert "LeadSync_Id__c" in lead_schema
    assert "Internal_Notes__c" not in lead_schema  # hidden from the sync user
    selected = select_streams(catalog, STREAMS)

    first = runner.sync(selected, {}, "first")
    stamps = {obj: _modstamps(org, obj) for obj in STREAMS}
    assert first.record_counts() == {obj: len(stamps[obj]) for obj in STREAMS}, first.stderr[-3000:]
    state = first.final_state()
    for obj in STREAMS:
        assert _bookmark(state, obj) == max(stamps[obj].values()), obj
        assert {r["Id"] for r in first.records(obj)} == set(stamps[obj])
    # Paging: the tap re-sends `?q=` with each nextRecordsUrl, which must be ignored there.
    assert "/queryAll/" in first.stderr
    leads_by_id = {r["Id"]: r for r in first.records("Lead")}
    sample = leads_by_id[_ids(org, "Lead")[1]]
    assert sample["Company"] == "Leads Inc"
    assert sample["Name"] == sample["LastName"]
    assert sample["Address"] is None or isinstance(sample["Address"], dict)
    deleted = [r for r in first.records("Lead") if r["IsDeleted"]]
    assert [r["Id"] for r in deleted] == [_ids(org, "Lead")[0]]

    # Change a few rows later on; only they (and rows sitting on the `>=` boundary) return.
    org.clock.advance(60)
    leads, contacts = _ids(org, "Lead"), _ids(org, "Contact")
    changed = {"Lead": {leads[2], leads[5]}, "Contact": {contacts[1]}, "Account": set()}
    edits = [(obj, i, {"LastName": f"Changed {i[-4:]}"}) for obj in STREAMS for i in changed[obj]]
    results = writes.update(org, admin_session(org), edits)
    assert all(r.success for r in results), [r.as_json() for r in results]
    [new_account] = system_insert(org, "Account", [{"Name": "Latecomer"}])
    changed["Account"].add(new_account)

    second = runner.sync(selected, state, "second")
    # The bookmark goes back into SOQL as an unquoted literal with six fractional digits.
    assert ".000000Z" in second.stderr
    for obj in STREAMS:
        # The tap asks for SystemModstamp >= bookmark, so rows stamped exactly at the
        # bookmark come back again alongside the changed ones.
        on_boundary = {i for i, s in stamps[obj].items() if s == _bookmark(state, obj)}
        returned = {r["Id"] for r in second.records(obj)}
        assert returned == changed[obj] | on_boundary, obj
        assert _bookmark(second.final_state(), obj) == org.clock.now(), obj
    renamed = {r["Id"]: r["Name"] for r in second.records("Lead")}
    assert all(renamed[i].startswith("Changed") for i in changed["Lead"])


def test_tap_version_is_the_pinned_one(tap: Path) -> None:
    version = subprocess.run(
        [
            str(tap.parent / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('tap-salesforce'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == TAP_VERSION
