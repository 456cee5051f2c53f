"""leadsync.toml + LEADSYNC_* environment: defaults, precedence, every problem named at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadsync.config import ConfigProblems, load_config

ENV_KEYS = (
    "LEADSYNC_DATABASE_URL",
    "LEADSYNC_SALESFORCE_URL",
    "LEADSYNC_SALESFORCE_USERNAME",
    "LEADSYNC_SALESFORCE_PASSWORD",
    "LEADSYNC_SALESFORCE_CLIENT_ID",
    "LEADSYNC_SALESFORCE_CLIENT_SECRET",
    "LEADSYNC_SYNC_INTERVAL",
    "LEADSYNC_CONFIG",
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./leadsync.toml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadsync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_local_emulator_and_its_demo_credentials() -> None:
    config = load_config()
    assert config.database_url == "sqlite:///leadsync.db"
    assert config.salesforce.url == "http://127.0.0.1:8484"
    credentials = config.credentials()
    assert (credentials.username, credentials.password) == ("sync@example.com", "password")
    assert (credentials.client_id, credentials.client_secret) == ("leadsync", "leadsync-secret")
    assert credentials.grant_type == "password"
    assert config.sync.interval == 300 and config.sync.history_days == 30


def test_the_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path, '[sync]\ninterval = 60\n[salesforce]\nurl = "https://login.salesforce.com/"\n')
    config = load_config()
    assert config.sync.interval == 60
    assert config.salesforce.url == "https://login.salesforce.com"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        'database_url = "sqlite:///from-file.db"\n'
        '[salesforce]\nurl = "https://file.example.com"\nusername = "file@example.com"\n'
        "[sync]\ninterval = 60\n",
    )
    monkeypatch.setenv("LEADSYNC_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("LEADSYNC_SALESFORCE_URL", "https://env.example.com")
    monkeypatch.setenv("LEADSYNC_SALESFORCE_PASSWORD", "env-password")
    monkeypatch.setenv("LEADSYNC_SALESFORCE_CLIENT_ID", "env-client")
    monkeypatch.setenv("LEADSYNC_SALESFORCE_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("LEADSYNC_SYNC_INTERVAL", "5")
    config = load_config(path)
    assert config.database_url == "sqlite:///from-env.db"
    assert config.salesforce.url == "https://env.example.com"
    assert config.salesforce.username == "file@example.com"  # not overridden: the file's
    credentials = config.credentials()
    assert credentials.password == "env-password"
    assert (credentials.client_id, credentials.client_secret) == ("env-client", "env-secret")
    assert config.sync.interval == 5


def test_every_problem_is_listed_at_once_naming_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "[sync]\ninterval = 0\nbudget_share = 2\nintervall = 3\n"
        '[salesforce]\nurl = "ftp://example.com"\n'
        '[mapping.Opportunity]\nName = "x"\n',
    )
    monkeypatch.setenv("LEADSYNC_DATABASE_URL", "mysql://localhost/leads")
    with pytest.raises(ConfigProblems) as caught:
        load_config(path)
    problems = caught.value.problems
    assert "sync.interval: must be > 0" in problems
    assert "sync.budget_share: must be <= 1" in problems
    assert "sync.intervall: unknown key" in problems
    assert "salesforce.url: must start with http:// or https://" in problems
    assert any(p.startswith("database_url: unsupported database 'mysql'") for p in problems)
    assert any(p.startswith("mapping.Opportunity") for p in problems)
    assert len(problems) == 6


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_SYNC_INTERVAL", "soon")
    with pytest.raises(ConfigProblems) as caught:
        load_config()
    [problem] = caught.value.problems
    assert problem.startswith("sync.interval (from LEADSYNC_SYNC_INTERVAL): ")


def test_no_usable_login_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, '[salesforce]\nusername = ""\nclient_secret = ""\n')
    with pytest.raises(ConfigProblems) as caught:
        load_config(path)
    assert [p.split(":")[0] for p in caught.value.problems] == ["salesforce"]


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigProblems, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigProblems, match="not valid TOML"):
        load_config(write(tmp_path, "[sync\n"))


def test_secrets_are_masked_and_never_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_SALESFORCE_PASSWORD", "pw-1234-secret")
    monkeypatch.setenv("LEADSYNC_SALESFORCE_CLIENT_SECRET", "cs-5678-secret")
    monkeypatch.setenv("LEADSYNC_DATABASE_URL", "postgresql://leads:db-9999-secret@db/leads")
    config = load_config()
    shown = f"{config.masked()} {config!r} {config.credentials()!r}"
    for secret in ("pw-1234-secret", "cs-5678-secret", "db-9999-secret"):
        assert secret not in shown
    assert config.masked()["salesforce"]["password"] == "********"


def test_push_and_rules_tables_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[push]\nbulk_threshold = 100\nretry_delays = [1, 2]\n"
        'auto_create = [{ field = "leadScore", op = ">=", value = 50 }]\n',
    )
    settings = load_config(path).push_settings()
    assert settings.bulk_threshold == 100 and settings.retry_delays == (1.0, 2.0)
    [condition] = settings.auto_create
    assert (condition.field, condition.op, condition.value) == ("leadScore", ">=", 50)
    bad = write(
        tmp_path,
        '[push]\nbulk_threshold = "many"\nretry_delays = [-1]\ncolour = 1\n'
        'auto_create = [{ field = "x", op = "~" }]\n'
        '[rules]\nlead = "whoever-shouts"\n',
    )
    with pytest.raises(ConfigProblems) as caught:
        load_config(bad)
    problems = caught.value.problems
    assert "push.bulk_threshold: must be a int" in problems
    assert "push.retry_delays: must be a list of positive numbers" in problems
    assert "push.colour: unknown key" in problems
    assert any(
        p.startswith("push.auto_create: condition on 'x': unknown operator") for p in problems
    )
    assert any(p.startswith("rules.lead: 'whoever-shouts' is not a rule") for p in problems)
