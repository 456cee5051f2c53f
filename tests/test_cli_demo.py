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


def test_demo_tells_the_story_of_the_sync() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Traceback" not in result.stdout + result.stderr
    copied = re.search(r"Initial copy: (\d+) leads and (\d+) contacts became (\d+) persons", text)
    assert copied is not None
    assert int(copied[1]) + int(copied[2]) == int(copied[3]) > 300
    # The demo org's 13 objects fit one change check; the lead's change is in its first page.
    assert re.search(r"next cycle \(1 API call\) brings title = 'Head of Analytics'", text)
    assert "Salesforce now says Status = 'Working - Contacted'" in text
    # Who wins a both-sides edit: the marketing value for a lead, Salesforce's for a contact.
    assert re.search(
        r"leadsync 'VP Marketing \(leadsync\)', Salesforce 'VP Marketing \(leadsync\)'", text
    )
    assert re.search(r"leadsync 'CFO \(Salesforce\)', Salesforce 'CFO \(Salesforce\)'", text)
    fanout = re.search(
        r"(\d+) of its (\d+) contacts show industry = '\w+'.*?\((\d+) in all\)", text
    )
    assert fanout is not None and fanout[1] == fanout[2] == fanout[3] and int(fanout[1]) > 1
    assert "refuses it with FIELD_CUSTOM_VALIDATION_EXCEPTION on ['Phone']" in text
    assert "Salesforce says '+1 415 555 0199'" in text
    assert re.search(r"Sync Person to SFDC: lead 00Q\w{15}", text)
    assert re.search(r"makes contact 003\w{15} of account 001\w{15} with an opportunity", text)
    assert "now a Contact" in text
    assert "Open sync errors: 1" in text
    calls = int(re.search(r"Salesforce API calls used: (\d+)", text)[1])  # type: ignore[index]
    assert 10 <= calls <= 120


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
