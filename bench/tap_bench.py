"""The initial copy of an emulator org by unmodified tap-salesforce, in its own virtual
environment (`tests/support/tapenv.py` installs it once under `.cache/tap-venv`).

The tap hard-codes `https://login.salesforce.com`; `tests/support/sitecustomize/` (on its
PYTHONPATH) sends its requests to the emulator, without changing a line of the tap. Its Singer
messages go to a pipe that counts RECORD lines and throws them away (the tap only prints
records; it writes no database). Its wall time and peak RSS are its own process's.

    .venv/bin/python -m bench.tap_bench --records 10000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from tests.support.tapenv import TAP_VERSION, VENV_DIR, _works, ensure_tap_venv

from bench.common import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SYNC_USER,
    Emulator,
    emulator,
    run_child,
)

SITECUSTOMIZE_DIR = Path(__file__).resolve().parents[1] / "tests" / "support" / "sitecustomize"
RECORD_PREFIX = b'{"type": "RECORD", "stream": "'
BULK1_PROBE = "/services/async/62.0/job"


def tap_version() -> str:
    return TAP_VERSION


def tap_ready() -> bool:
    """The tap's environment exists and works (no install attempted)."""
    return _works(VENV_DIR)


def tap_executable(install: bool) -> Path | None:
    if tap_ready() or install:
        try:
            return ensure_tap_venv()
        except (RuntimeError, OSError) as exc:
            print(f"[tap] cannot install tap-salesforce: {exc}", file=sys.stderr)
    return None


def bulk1_available(url: str) -> tuple[bool, str]:
    """Does the org serve Bulk API 1.0 (`/services/async/...`), which the tap's BULK mode uses?"""
    response = httpx.post(f"{url}{BULK1_PROBE}", json={}, timeout=30)
    if response.status_code == 404:
        return False, f"POST {BULK1_PROBE} -> HTTP 404 (the emulator speaks Bulk 2.0 only)"
    return True, f"POST {BULK1_PROBE} -> HTTP {response.status_code}"


class Tap:
    def __init__(self, executable: Path, server: Emulator, workdir: Path) -> None:
        self.executable = executable
        self.server = server
        self.workdir = workdir

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(SITECUSTOMIZE_DIR)
        env["LEADSYNC_EMULATOR_URL"] = self.server.url
        return env

    def write_config(self, api_type: str) -> Path:
        from leadsync.emulator.oauth_flow import mint_refresh_token

        token = mint_refresh_token(self.server.url, SYNC_USER, PASSWORD, CLIENT_ID, CLIENT_SECRET)
        config = {
            "refresh_token": token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "start_date": "2000-01-01T00:00:00Z",
            "api_type": api_type,
            "select_fields_by_default": True,
        }
        path = self.workdir / f"config-{api_type}.json"
        path.write_text(json.dumps(config))
        return path

    def discover(self, config: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        out = self.workdir / "catalog-all.json"
        before = self.server.api_used()
        with open(out, "wb") as stdout, open(self.workdir / "discover.log", "wb") as log:
            child = run_child(
                [str(self.executable), "--config", str(config), "--discover"],
                env=self.environment(),
                cwd=self.workdir,
                stdout_file=stdout,
                stderr_file=log,
            )
        self._check(child.returncode, "discover.log")
        figures = {"seconds": child.seconds, "api_calls": self.server.api_used() - before}
        return json.loads(out.read_text()), figures

    def sync(self, config: Path, catalog: dict[str, Any], name: str) -> dict[str, Any]:
        catalog_path = self.workdir / f"catalog-{name}.json"
        catalog_path.write_text(json.dumps(catalog))
        records: Counter[str] = Counter()

        def count(line: bytes) -> None:
            if line.startswith(RECORD_PREFIX):
                stream = line[len(RECORD_PREFIX) : line.index(b'"', len(RECORD_PREFIX))]
                records[stream.decode()] += 1

        before = self.server.api_used()
        log_name = f"sync-{name}.log"
        with open(self.workdir / log_name, "wb") as log:
            # 2.8.1 reads the selection only from `--properties` (see tests/emulator).
            child = run_child(
                [str(self.executable), "--config", str(config), "--properties", str(catalog_path)],
                env=self.environment(),
                cwd=self.workdir,
                stdout_lines=count,
                stderr_file=log,
            )
        self._check(child.returncode, log_name)
        return {
            "records": sum(records.values()),
            "by_object": dict(records),
            "seconds": child.seconds,
            "peak_rss_mb": child.peak_rss_mb,
            "api_calls": self.server.api_used() - before,
        }

    def _check(self, returncode: int, log_name: str) -> None:
        if returncode != 0:
            tail = (self.workdir / log_name).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"tap-salesforce exited {returncode}:\n{tail}")


def select_streams(catalog: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Select `names`, incremental on SystemModstamp where the tap allows it, all fields."""
    wanted = set(names)
    chosen = []
    for stream in catalog["streams"]:
        if stream["tap_stream_id"] not in wanted:
            continue
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                keys = entry["metadata"].get("valid-replication-keys") or []
                method = {"replication-method": "FULL_TABLE"}
                if "SystemModstamp" in keys:
                    method = {
                        "replication-method": "INCREMENTAL",
                        "replication-key": "SystemModstamp",
                    }
                entry["metadata"].update({"selected": True, **method})
        chosen.append(stream)
    return {"streams": chosen}


def leadsync_objects() -> list[str]:
    """The objects leadsync's pull copies; the tap is asked for the same ones."""
    from leadsync.sync.objects import OBJECTS

    return [spec.name for spec in OBJECTS]


def run_tap(server: Emulator, executable: Path, workdir: Path) -> dict[str, Any]:
    """Discover once, then the REST copy; BULK only if the org serves Bulk 1.0."""
    tap = Tap(executable, server, workdir)
    rest_config = tap.write_config("REST")
    catalog, discover = tap.discover(rest_config)
    objects = leadsync_objects()
    selected = select_streams(catalog, objects)
    result: dict[str, Any] = {
        "version": TAP_VERSION,
        "objects": sorted(s["tap_stream_id"] for s in selected["streams"]),
        "discover": discover,
        "rest": tap.sync(rest_config, selected, "rest"),
    }
    available, probe = bulk1_available(server.url)
    result["bulk_probe"] = probe
    if available:
        result["bulk"] = tap.sync(tap.write_config("BULK"), selected, "bulk")
    else:
        result["bulk"] = {"not_available": "the emulator speaks Bulk 2.0 only"}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args(argv)
    executable = tap_executable(install=True)
    if executable is None:
        return 1
    with tempfile.TemporaryDirectory() as tmp, emulator(args.records) as server:
        print(json.dumps(run_tap(server, executable, Path(tmp)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
