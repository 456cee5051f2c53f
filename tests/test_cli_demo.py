"""`leadsync demo` and `leadsync emulator-token` through the real console script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from leadsync.emulator.org import Org
from leadsync.emulator.server import ServerThread

LEADSYNC = str(Path(sys.executable).with_name("leadsync"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEADSYNC, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_demo_tells_its_story_and_counts_api_calls() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"Lead │ 200", text)
    assert "Internal_Notes__c is hidden from it" in text
    assert "(created=True); the retry found it (created=False, same id: True)" in text
    assert "1 of 2 leads saved" in text and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in text
    assert re.search(r"became contact 003\w{15}, account 001\w{15} and opportunity 006\w{15}", text)
    calls = int(re.search(r"Salesforce API calls used: (\d+)", text)[1])  # type: ignore[index]
    assert 5 <= calls <= 30


def test_emulator_token_mints_a_refresh_token_tap_can_use() -> None:
    org = Org()
    try:
        with ServerThread(org) as server:
            result = run("emulator-token", "--url", server.url)
            assert result.returncode == 0, result.stderr
            token = result.stdout.strip()
            answer = httpx.post(
                f"{server.url}/services/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                    "client_id": "leadsync",
                    "client_secret": "leadsync-secret",
                },
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["access_token"]
            refused = run("emulator-token", "--url", server.url, "--password", "wrong")
            assert refused.returncode != 0
            assert len(refused.stderr.strip().splitlines()) == 1
            assert "wrong" not in refused.stderr
    finally:
        org.close()
