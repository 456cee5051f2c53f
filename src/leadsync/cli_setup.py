"""`leadsync init` (a commented starter leadsync.toml) and `leadsync check` (can this
configuration sync: connection, the sync user's permissions, fields, the external id)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from .cli_common import CONFIG_OPTION, JSON_OPTION, errors_as_lines, fail, print_json, settings
from .config import CONFIG_FILE

EXTERNAL_ID = "LeadSync_Id__c"
READ_OBJECTS = ("User", "Account", "Lead", "Contact")


def register(app: typer.Typer, command_class: Any) -> None:
    app.command("init", cls=command_class)(init)
    app.command("check", cls=command_class)(check)


EMULATOR_TEMPLATE = """\
# leadsync configuration. Every key is optional; the values shown are the defaults.
# Environment variables override this file: LEADSYNC_DATABASE_URL, LEADSYNC_SALESFORCE_URL,
# LEADSYNC_SALESFORCE_USERNAME, LEADSYNC_SALESFORCE_PASSWORD, LEADSYNC_SALESFORCE_CLIENT_ID,
# LEADSYNC_SALESFORCE_CLIENT_SECRET, and LEADSYNC_<SECTION>_<KEY> for the others.

# sqlite:///PATH (a file next to this one) or postgresql://USER:PASSWORD@HOST/DATABASE
database_url = "sqlite:///leadsync.db"

[salesforce]
# The local emulator (`leadsync emulator`) and its documented, insecure demo credentials.
url = "http://127.0.0.1:8484"
username = "sync@example.com"
password = "password"
client_id = "leadsync"
client_secret = "leadsync-secret"
api_version = "62.0"
{common}"""

REAL_ORG_TEMPLATE = """\
# leadsync configuration for a Salesforce org. Keep secrets out of this file if you can:
# the environment overrides it (LEADSYNC_SALESFORCE_PASSWORD, LEADSYNC_SALESFORCE_CLIENT_SECRET,
# LEADSYNC_SALESFORCE_SECURITY_TOKEN, ...). `leadsync check` tells you what is missing.

database_url = "sqlite:///leadsync.db"

[salesforce]
# https://login.salesforce.com (production), https://test.salesforce.com (sandbox), or your
# My Domain URL.
url = "https://login.salesforce.com"
# A dedicated integration user; give it read/edit on Lead, Contact, Account and the
# LeadSync_Id__c external-id field on Lead and Contact (see `leadsync check`).
username = "leadsync-sync@yourcompany.com"
# The connected app (Setup > App Manager) with the OAuth scopes api and refresh_token.
client_id = ""
# Choose ONE way to log in (an empty value means "not set"):
# 1. username + password (+ security token unless the login IP is trusted) + client id/secret
password = ""
security_token = ""
client_secret = ""
# 2. JWT bearer: a certificate uploaded to the connected app, its private key here
# jwt_key_file = "/etc/leadsync/server.key"
# 3. a refresh token from the OAuth web flow
# refresh_token = ""
api_version = "62.0"
{common}"""

COMMON = """
[sync]
interval = 300          # seconds between cycles
budget_share = 0.5      # share of the org's daily API limit leadsync may use, then it pauses
lookback = 300          # seconds re-read before the watermark, for late commits
bulk_threshold = 2000   # records above which the initial copy uses Bulk 2.0
history_days = 30       # days of sync runs and resolved errors kept

# Field mapping: Salesforce API name = person field name, per object.
# [mapping.Lead]
# Favourite_Colour__c = "favouriteColour"

# Who wins a conflict: marketing-wins, salesforce-wins, most-recent, salesforce-only,
# leadsync-only, prefer-salesforce-unless-blank, dont-sync. Per object, then per field.
# [rules]
# lead = "marketing-wins"
# contact = "salesforce-wins"
# [rules.fields]
# leadScore = "leadsync-only"

# [push]
# default_company = "[not provided]"
# auto_create = [{ field = "leadScore", op = ">=", value = 50 }]  # push matching new persons
"""


def init(
    emulator: bool = typer.Option(False, "--emulator", help="For the local emulator (default)."),
    real_org: bool = typer.Option(False, "--real-org", help="For a Salesforce org."),
    path: Path = typer.Option(Path(CONFIG_FILE), "--path", help="Where to write it."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter leadsync.toml.

    Example: leadsync init --real-org --path /etc/leadsync/leadsync.toml
    """
    if emulator and real_org:
        fail("init", "choose --emulator or --real-org, not both", 2)
    if path.exists() and not force:
        fail("init", f"{path} exists; pass --force to overwrite it")
    template = REAL_ORG_TEMPLATE if real_org else EMULATOR_TEMPLATE
    try:
        path.write_text(template.format(common=COMMON), encoding="utf-8")
    except OSError as exc:
        fail("init", f"cannot write {path}: {exc.strerror}")
    typer.echo(f"wrote {path}; next: leadsync check")


@dataclass
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def check(json: bool = JSON_OPTION, config: Path | None = CONFIG_OPTION) -> None:
    """Check that leadsync can sync with this configuration: the database, the login, the
    sync user's access to each object, the fields it sees and the external-id field.
    Exit code 1 if anything is missing; each finding says how to fix it.

    Example: leadsync check
    """
    conf = settings("check", config)
    findings: list[Finding] = []
    with errors_as_lines("check"):
        findings.append(_check_database(conf))
        client = conf.salesforce_client()
        try:
            findings.extend(_check_salesforce(client))
        finally:
            client.http.close()
    if json:
        print_json({"ok": all(f.ok for f in findings), "checks": [f.as_json() for f in findings]})
    else:
        for finding in findings:
            mark = "ok     " if finding.ok else "MISSING"
            typer.echo(f"{mark} {finding.check}: {finding.detail}")
            if finding.fix and not finding.ok:
                typer.echo(f"        fix: {finding.fix}")
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def _check_database(conf: Any) -> Finding:
    from .errors import LeadsyncError

    try:
        db = conf.open_database()
    except LeadsyncError as exc:
        return Finding("database", False, exc.message, "check database_url")
    db.close()
    return Finding("database", True, conf.masked()["database_url"])


def _check_salesforce(client: Any) -> list[Finding]:
    from .errors import LeadsyncError, SalesforceError
    from .salesforce.describe import DescribeCache

    try:
        limits = client.limits()
    except LeadsyncError as exc:
        return [
            Finding(
                "login",
                False,
                str(exc),
                "check salesforce.url, username, password (+ security_token), client_id and "
                "client_secret; `leadsync config` shows what is in effect",
            )
        ]
    daily = limits.get("DailyApiRequests", {})
    findings = [
        Finding(
            "login",
            True,
            f"{client.token.instance_url} as {client.credentials.username or 'the OAuth client'}"
            f"; API requests left today: {daily.get('Remaining', '?')} of {daily.get('Max', '?')}",
        )
    ]
    describe = DescribeCache(client)
    for name in READ_OBJECTS:
        try:
            fields = describe.fields(name)
            client.query(f"SELECT Id FROM {name} LIMIT 1")
        except SalesforceError as exc:
            findings.append(
                Finding(
                    f"read {name}",
                    False,
                    f"{exc.code}: {exc.message}",
                    f"give the sync user's profile or a permission set Read on {name}",
                )
            )
            continue
        findings.append(Finding(f"read {name}", True, f"{len(fields)} fields visible"))
        if name in ("Lead", "Contact"):
            findings.append(_external_id(name, fields))
    return findings


def _external_id(name: str, fields: dict[str, Any]) -> Finding:
    info = fields.get(EXTERNAL_ID)
    if info is None:
        return Finding(
            f"{name}.{EXTERNAL_ID}",
            False,
            "not visible to the sync user",
            f"create a Text(36) field {EXTERNAL_ID} on {name}, marked External ID and Unique, "
            "and give the sync user edit access to it (field-level security)",
        )
    if not info.external_id or not info.updateable:
        return Finding(
            f"{name}.{EXTERNAL_ID}",
            False,
            f"external id: {info.external_id}, editable by the sync user: {info.updateable}",
            f"mark {name}.{EXTERNAL_ID} External ID and give the sync user edit access",
        )
    return Finding(f"{name}.{EXTERNAL_ID}", True, "external id, editable")
