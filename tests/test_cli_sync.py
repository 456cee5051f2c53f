"""`leadsync sync --once`, `status`, `errors`, `config`, `init`, `check` through the real entry
point, against an emulated org on a socket and a SQLite file in tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from leadsync.db import LeadDatabase, sync_state
from leadsync.db.schema import sync_runs

from .cli_support import Served, invoke, run, served_org, sf_client, sf_query

OBJECT_KEYS = {"object", "initialCopyDone", "watermark", "lastRun", "openErrors", "backlog"}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from served_org(tmp_path, monkeypatch, records=60)


def test_sync_once_copies_the_org_and_logs_a_line_per_object(served: Served) -> None:
    result = invoke("sync", "--once")
    assert result.code == 0, result.output
    for name in ("Lead", "Contact", "Account", "User"):
        assert f"{name} initial copy: succeeded" in result.stderr
    assert "cycle succeeded:" in result.stderr and "Traceback" not in result.output
    with LeadDatabase.open(served.db_url) as db:
        leads = db.find_persons(sfdcType="Lead")
        assert len(leads) >= 50
        [cycle] = [r for r in db.list_sync_runs() if r["object"] == "*"]
        assert cycle["status"] == "Succeeded" and cycle["apiCalls"] > 0


def test_status_json_shape_after_two_cycles(served: Served) -> None:
    assert invoke("sync", "--once").code == 0
    assert invoke("sync", "--once").code == 0
    before = served.org.limits.used
    result = invoke("status", "--json")
    assert result.code == 0, result.output
    assert served.org.limits.used == before  # status reads the database only
    report = result.json()
    assert set(report) == {
        "lastCycle",
        "paused",
        "pausedReason",
        "objects",
        "unlinkedBacklog",
        "openErrors",
        "api",
    }
    assert report["paused"] is False
    assert report["lastCycle"]["status"] in ("Succeeded", "Idle")
    by_name = {o["object"]: o for o in report["objects"]}
    assert {"User", "Account", "Lead", "Contact"} <= set(by_name)
    lead = by_name["Lead"]
    assert set(lead) == OBJECT_KEYS
    assert lead["initialCopyDone"] is True and lead["backlog"] == {
        "leadsync": 0,
        "salesforce": None,
    }
    assert set(lead["lastRun"]) >= {
        "operation",
        "startedAt",
        "endedAt",
        "status",
        "new",
        "updated",
        "deleted",
        "failed",
        "skipped",
        "apiCalls",
    }
    api = report["api"]
    assert api["usedToday"] > 0 and api["orgLimit"] == served.org.limits.maximum
    assert api["cap"] == int(api["orgLimit"] * 0.5)


def test_status_backlog_counts_local_edits_waiting_for_the_push(served: Served) -> None:
    assert invoke("sync", "--once").code == 0
    with LeadDatabase.open(served.db_url) as db:
        [lead] = db.find_persons(sfdcType="Lead", limit=1)
        [contact] = db.find_persons(sfdcType="Contact", limit=1)
        db.update_person(lead["id"], {"title": "Backlog One", "phone": "555 0101"})
        db.update_person(contact["id"], {"title": "Backlog Two"})
        db.create_person({"email": "new@example.com", "lastName": "Unlinked"})
    report = invoke("status", "--json").json()
    by_name = {o["object"]: o for o in report["objects"]}
    assert by_name["Lead"]["backlog"]["leadsync"] == 2
    assert by_name["Contact"]["backlog"]["leadsync"] == 1
    text = invoke("status")
    assert text.code == 0 and "Lead" in text.stdout and "API calls today" in text.stdout


def test_status_before_any_sync_says_so(served: Served) -> None:
    result = invoke("status")
    assert result.code == 0
    assert "No sync cycle has run yet" in result.stdout


def _seed_errors(db_url: str) -> int:
    with LeadDatabase.open(db_url) as db:
        person = db.create_person({"email": "bad@example.com", "lastName": "Phone", "phone": "x"})
        now = dt.datetime.now(dt.UTC)
        with db.transaction() as conn:
            for code, fields in (
                ("FIELD_CUSTOM_VALIDATION_EXCEPTION", ["Phone"]),
                ("FIELD_CUSTOM_VALIDATION_EXCEPTION", ["Phone"]),
                ("REQUIRED_FIELD_MISSING", ["LastName"]),
            ):
                sync_state.record_error(
                    conn,
                    at=now,
                    level="record",
                    code=code,
                    message=f"{code} says no",
                    sfdc_object="Lead",
                    person_id=person["id"],
                    sfdc_id="00Q000000000001AAA",
                    fields=fields,
                )
        return int(person["id"])


def test_errors_grouped_by_code_json_csv_and_retry(served: Served, tmp_path: Path) -> None:
    person_id = _seed_errors(served.db_url)
    report = invoke("errors", "--json").json()
    assert report["total"] == 3
    assert [(g["code"], g["count"]) for g in report["groups"]] == [
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", 2),
        ("REQUIRED_FIELD_MISSING", 1),
    ]
    first = report["groups"][0]["errors"][0]
    assert first["personId"] == person_id and first["sfdcId"] == "00Q000000000001AAA"
    assert first["fields"] == ["Phone"] and "says no" in first["message"]

    out = tmp_path / "errors.csv"
    text = invoke("errors", "--csv", str(out))
    assert text.code == 0 and "FIELD_CUSTOM_VALIDATION_EXCEPTION (2)" in text.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3 and rows[0]["personId"] == str(person_id)

    retried = invoke("errors", "--retry", "--json").json()
    assert retried["retried"] == {"requeued": 3, "notRetriable": 0}
    with LeadDatabase.open(served.db_url) as db:
        assert all(e["nextRetryAt"] is not None for e in db.list_sync_errors())
        pending = [c for c in db.pending_changes() if c.entity_id == person_id]
        assert {c.field for c in pending} >= {"phone", "lastName"}


def test_errors_with_none_open(served: Served) -> None:
    result = invoke("errors")
    assert result.code == 0 and "No open sync errors" in result.stdout
    assert invoke("errors", "--json").json() == {"total": 0, "groups": []}


def test_history_older_than_history_days_is_pruned_each_cycle(served: Served) -> None:
    assert invoke("sync", "--once").code == 0
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=45)
    with LeadDatabase.open(served.db_url) as db, db.transaction() as conn:
        run_id = sync_state.start_run(conn, "Lead", "Pull updates", at=old)
        sync_state.finish_run(conn, run_id, "Succeeded", at=old)
        sync_state.record_error(
            conn, at=old, level="record", code="OLD", message="old", run_id=run_id
        )
        kept = sync_state.record_error(conn, at=old, level="record", code="OPEN", message="open")
        resolved = sync_state.record_error(
            conn, at=old, level="record", code="DONE", message="resolved"
        )
        sync_state.resolve_errors(conn, [resolved], at=old)
    assert invoke("sync", "--once").code == 0
    with LeadDatabase.open(served.db_url) as db, db.transaction() as conn:
        assert conn.scalar(select(sync_runs.c.id).where(sync_runs.c.id == run_id)) is None
        codes = {e["code"] for e in db.list_sync_errors(include_resolved=True)}
    assert {"OLD", "OPEN"} <= codes and "DONE" not in codes  # unresolved errors stay
    assert kept


def test_a_second_instance_is_refused(served: Served) -> None:
    with LeadDatabase.open(served.db_url) as db:
        assert db.acquire_sync_lock("other-host:1:abc", ttl=dt.timedelta(minutes=5))
    result = invoke("sync", "--once")
    assert result.code != 0
    [line] = result.stderr.strip().splitlines()
    assert "another leadsync sync is running on this database (other-host:1:abc" in line


def test_budget_pause_is_clean_and_resumes(served: Served) -> None:
    limits = served.org.limits
    limits.set_used(limits.maximum // 2 - 2)  # the cap is reached during the initial copy
    result = invoke("sync", "--once")
    assert result.code == 0, result.output  # a pause is not a failure
    assert "paused: API budget reached" in result.stderr
    report = invoke("status", "--json").json()
    assert report["paused"] is True and "API budget reached" in report["pausedReason"]
    with LeadDatabase.open(served.db_url) as db:
        runs = db.list_sync_runs()
        assert not [r for r in runs if r["status"] in ("In Process", "Failed")]
    assert not all(o["initialCopyDone"] for o in report["objects"])
    limits.set_used(0)  # the org's counter rolled over
    assert invoke("sync", "--once").code == 0
    report = invoke("status", "--json").json()
    assert report["paused"] is False
    assert all(o["initialCopyDone"] for o in report["objects"])


def test_config_prints_the_effective_configuration_masked(served: Served) -> None:
    result = invoke("config", "--json")
    assert result.code == 0
    data = result.json()
    assert data["salesforce"]["url"] == served.url
    assert data["salesforce"]["password"] == "********"
    assert "leadsync-secret" not in invoke("config").stdout


def test_a_wrong_configuration_is_one_line_per_problem(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "leadsync.toml").write_text(
        '[sync]\ninterval = -5\nbudget_share = 7\n[salesforce]\napi_version = "sixty"\n',
        encoding="utf-8",
    )
    for command in (("sync", "--once"), ("status",), ("errors",), ("person", "get", "1")):
        result = invoke(*command)
        assert result.code == 3, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 3, lines
        name = " ".join(command[:2]) if command[0] == "person" else command[0]
        assert all(line.startswith(f"leadsync {name}: config error: ") for line in lines)
        assert any("sync.interval: must be > 0" in line for line in lines)
        assert "Traceback" not in result.output


def test_init_writes_a_starter_file_and_refuses_to_overwrite(
    served: Served, tmp_path: Path
) -> None:
    path = tmp_path / "conf" / "leadsync.toml"
    path.parent.mkdir()
    assert invoke("init", "--path", str(path)).code == 0
    assert 'url = "http://127.0.0.1:8484"' in path.read_text(encoding="utf-8")
    again = invoke("init", "--path", str(path), "--real-org")
    assert again.code == 1 and "pass --force" in again.stderr
    assert invoke("init", "--path", str(path), "--real-org", "--force").code == 0
    text = path.read_text(encoding="utf-8")
    assert "https://login.salesforce.com" in text and "jwt_key_file" in text
    # until its secrets are filled in, the real-org file says exactly what is missing
    unfilled = invoke("config", "--config", str(path))
    assert unfilled.code == 3
    assert unfilled.stderr.startswith("leadsync config: config error: salesforce: no usable")
    emulator_file = tmp_path / "emulator.toml"
    assert invoke("init", "--emulator", "--path", str(emulator_file)).code == 0
    assert invoke("config", "--config", str(emulator_file), "--json").code == 0


def test_check_passes_against_the_emulator(served: Served) -> None:
    result = invoke("check", "--json")
    assert result.code == 0, result.output
    report = result.json()
    assert report["ok"] is True
    names = {c["check"] for c in report["checks"]}
    assert {
        "database",
        "login",
        "read Lead",
        "Lead.LeadSync_Id__c",
        "Contact.LeadSync_Id__c",
    } <= names


def test_check_says_what_is_missing(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_SALESFORCE_PASSWORD", "wrong-Pa55word")
    result = invoke("check")
    assert result.code == 1
    assert "MISSING login" in result.stdout and "fix:" in result.stdout
    assert "wrong-Pa55word" not in result.output


def test_console_script_runs_sync_and_status(served: Served) -> None:
    synced = run("sync", "--once", env=served.env())
    assert synced.code == 0, synced.stderr
    status = run("status", "--json", env=served.env())
    assert status.code == 0 and status.json()["lastCycle"]["status"] == "Succeeded"
    bad = run("sync", "--once", env=served.env(LEADSYNC_SYNC_INTERVAL="zero"))
    assert bad.code == 3
    assert bad.stderr.strip() == (
        "leadsync sync: config error: sync.interval (from LEADSYNC_SYNC_INTERVAL): "
        "input should be a valid number, unable to parse string as a number"
    )


def test_a_rejected_push_shows_in_errors_and_retry_requeues_it(served: Served) -> None:
    assert invoke("sync", "--once").code == 0
    with LeadDatabase.open(served.db_url) as db:
        lead = next(p for p in db.find_persons(sfdcType="Lead") if p["sfdcLeadId"])
    person_id = str(lead["id"])
    assert invoke("person", "update", person_id, "--set", "phone=call me maybe").code == 0
    assert invoke("sync", "--once").code == 0  # a record error is not a job failure
    report = invoke("errors", "--json").json()
    group = next(g for g in report["groups"] if g["code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    [error] = [e for e in group["errors"] if e["personId"] == lead["id"]]
    assert error["sfdcId"] == lead["sfdcLeadId"] and error["fields"] == ["Phone"]
    activities = invoke("person", "activities", person_id, "--json").json()
    assert any(
        a["attributes"].get("errorCode") == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        or "FIELD_CUSTOM_VALIDATION_EXCEPTION" in str(a["attributes"])
        for a in activities
    )

    retried = invoke("errors", "--retry")
    assert retried.code == 0 and "re-queued" in retried.stdout
    assert invoke("sync", "--once").code == 0
    again = invoke("errors", "--json").json()
    [error] = [e for g in again["groups"] for e in g["errors"] if e["personId"] == lead["id"]]
    assert error["attempts"] >= 2  # it was sent again and refused again

    assert invoke("person", "update", person_id, "--set", "phone=+1 555 0100").code == 0
    assert invoke("sync", "--once").code == 0
    remaining = invoke("errors", "--json").json()
    assert not [e for g in remaining["groups"] for e in g["errors"] if e["personId"] == lead["id"]]
    [row] = sf_query(served, f"SELECT Phone FROM Lead WHERE Id = '{lead['sfdcLeadId']}'")
    assert row["Phone"] == "+1 555 0100"


def test_a_job_level_failure_exits_non_zero_and_is_recorded(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADSYNC_SALESFORCE_PASSWORD", "not-the-password")
    result = invoke("sync", "--once")
    assert result.code == 1
    assert "ERROR cycle failed: login refused" in result.stderr
    assert "Traceback" not in result.output and "not-the-password" not in result.output
    report = invoke("status", "--json").json()
    assert report["lastCycle"]["status"] == "Failed"
    errors = invoke("errors", "--json").json()
    assert [g["code"] for g in errors["groups"]] == ["SYNC_FAILED"]
    assert errors["groups"][0]["errors"][0]["level"] == "job"


def test_status_salesforce_counts_changes_waiting_to_be_pulled(served: Served) -> None:
    assert invoke("sync", "--once").code == 0
    [lead] = sf_query(served, "SELECT Id FROM Lead WHERE IsConverted = false LIMIT 1")
    admin = sf_client(served)
    try:
        admin.request("PATCH", f"sobjects/Lead/{lead['Id']}", json={"Title": "Waiting"})
    finally:
        admin.http.close()
    before = served.org.limits.used
    report = invoke("status", "--salesforce", "--json").json()
    objects = len(report["objects"])  # login aside, a composite call per five objects
    assert served.org.limits.used - before <= 1 + math.ceil(objects / 5)
    by_name = {o["object"]: o["backlog"]["salesforce"] for o in report["objects"]}
    assert by_name["Lead"] == 1 and by_name["Contact"] == 0
    text = invoke("status", "--salesforce")
    assert text.code == 0 and "to pull" in text.stdout


def test_check_reports_a_hidden_external_id_field_and_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsync.emulator import orgfile
    from leadsync.emulator.org import Org
    from leadsync.emulator.server import ServerThread

    demo = Path(orgfile.__file__).with_name("orgs") / "demo.toml"
    text = demo.read_text(encoding="utf-8").replace(
        'hidden_fields = ["Lead.Internal_Notes__c", "Contact.Internal_Notes__c"]',
        'hidden_fields = ["Lead.Internal_Notes__c", "Contact.LeadSync_Id__c"]',
    )
    assert "Contact.LeadSync_Id__c" in text
    org_file = tmp_path / "org.toml"
    org_file.write_text(text, encoding="utf-8")
    org = Org(orgfile.load(str(org_file)))
    monkeypatch.chdir(tmp_path)
    try:
        with ServerThread(org) as server:
            monkeypatch.setenv("LEADSYNC_SALESFORCE_URL", server.url)
            monkeypatch.setenv("LEADSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
            result = invoke("check")
            report = invoke("check", "--json").json()
    finally:
        org.close()
    assert result.code == 1
    assert "MISSING Contact.LeadSync_Id__c: not visible to the sync user" in result.stdout
    assert "fix: create a Text(36) field LeadSync_Id__c on Contact" in result.stdout
    assert "ok      Lead.LeadSync_Id__c" in result.stdout
    assert report["ok"] is False
    assert [c["check"] for c in report["checks"] if not c["ok"]] == ["Contact.LeadSync_Id__c"]
