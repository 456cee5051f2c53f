"""Configuration: `leadsync.toml` (in the working directory, or `--config PATH`) overridden by
`LEADSYNC_*` environment variables, validated once at start-up.

    config = load_config()                   # ./leadsync.toml if it exists, else the defaults
    db = config.open_database()
    client = config.salesforce_client()

Every problem is collected before anything runs and raised as one `ConfigProblems` whose
`problems` name the key (`sync.interval: must be > 0`), never a secret's value. The defaults
are the local emulator's documented demo credentials, so `leadsync sync` works against a
running `leadsync emulator` with no file at all.

Environment names: `LEADSYNC_DATABASE_URL`, and `LEADSYNC_<SECTION>_<KEY>` for the nested keys
(`LEADSYNC_SALESFORCE_URL`, `LEADSYNC_SALESFORCE_PASSWORD`, `LEADSYNC_SYNC_INTERVAL`, ...).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .db.engine import database_url
from .errors import ConfigError, LeadsyncError

if TYPE_CHECKING:
    from .db import LeadDatabase
    from .db.mapping import FieldMapping
    from .salesforce.auth import Credentials
    from .salesforce.client import SalesforceClient
    from .sync.pull import PullSettings
    from .sync.push import PushSettings
    from .sync.rules import FieldRules

CONFIG_FILE = "leadsync.toml"
ENV_PREFIX = "LEADSYNC_"
SECRET_KEYS = ("password", "security_token", "client_secret", "refresh_token")


class ConfigProblems(ConfigError):
    """Every problem found in the configuration, one line each, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SalesforceSettings(BaseModel):
    """How to reach and log in to the org (`[salesforce]`)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        "http://127.0.0.1:8484",
        description="Login URL (https://login.salesforce.com, https://test.salesforce.com) "
        "or the org's instance URL; default: the local emulator.",
    )
    username: str | None = Field("sync@example.com", description="The sync user.")
    password: SecretStr | None = Field(SecretStr("password"), description="Its password.")
    security_token: SecretStr | None = Field(
        None, description="Appended to the password when the org asks for one."
    )
    client_id: str | None = Field("leadsync", description="OAuth client (connected app) id.")
    client_secret: SecretStr | None = Field(
        SecretStr("leadsync-secret"), description="OAuth client secret."
    )
    refresh_token: SecretStr | None = Field(None, description="Log in with a refresh token.")
    jwt_key_file: Path | None = Field(
        None, description="Private key (PEM) for the JWT bearer flow, with username+client_id."
    )
    api_version: str = Field("62.0", pattern=r"^\d{2}\.0$", description="REST API version.")
    timeout: float = Field(120.0, gt=0, description="HTTP timeout per call, seconds.")

    @field_validator(
        "username",
        "password",
        "security_token",
        "client_id",
        "client_secret",
        "refresh_token",
        "jwt_key_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `password = ""` in a starter file means "not given", not an empty password.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class SyncSettings(BaseModel):
    """The sync loop (`[sync]`)."""

    model_config = ConfigDict(extra="forbid")

    interval: float = Field(
        300.0, gt=0, description="Seconds to wait after a cycle before the next one."
    )
    budget_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the org's daily API request limit leadsync may use.",
    )
    lookback: float = Field(
        300.0, ge=0, description="Seconds re-read before the watermark (late commits)."
    )
    bulk_threshold: int = Field(
        2_000, ge=0, description="Records above which the initial copy uses Bulk 2.0."
    )
    batch_size: int = Field(
        10_000,
        gt=0,
        le=50_000,
        description="Records stored per transaction in the initial copy (memory grows with it).",
    )
    history_days: int = Field(30, gt=0, description="Days of sync runs and errors kept.")
    lock_ttl: float = Field(
        600.0, ge=30, description="Seconds a crashed sync keeps the lock before another starts."
    )


def _toml_table() -> dict[str, Any]:
    return {}


class Settings(BaseSettings):
    """The whole configuration. Build it with `load_config`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        case_sensitive=False,
    )

    database_url: str = Field(
        "sqlite:///leadsync.db",
        description="sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB.",
        repr=False,  # a PostgreSQL URL may carry a password
    )
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)  # type: ignore[arg-type]
    sync: SyncSettings = Field(default_factory=SyncSettings)  # type: ignore[arg-type]
    mapping: dict[str, Any] = Field(default_factory=_toml_table)
    rules: dict[str, Any] = Field(default_factory=_toml_table)
    push: dict[str, Any] = Field(default_factory=_toml_table)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values come in as init values; the environment overrides them.
        return (env_settings, init_settings)

    # -- what the rest of leadsync needs -------------------------------------------------------

    def credentials(self) -> Credentials:
        from .salesforce.auth import Credentials

        sf = self.salesforce
        return Credentials(
            login_url=sf.url,
            username=sf.username,
            password=_reveal(sf.password),
            security_token=_reveal(sf.security_token),
            client_id=sf.client_id,
            client_secret=_reveal(sf.client_secret),
            refresh_token=_reveal(sf.refresh_token),
            jwt_key_file=sf.jwt_key_file,
        )

    def salesforce_client(self) -> SalesforceClient:
        import httpx

        from .salesforce.client import SalesforceClient

        return SalesforceClient(
            self.credentials(),
            http=httpx.Client(timeout=self.salesforce.timeout),
            api_version=self.salesforce.api_version,
            budget_share=self.sync.budget_share,
        )

    def field_mapping(self) -> FieldMapping:
        from .db.mapping import FieldMapping

        return FieldMapping.from_config(self.mapping)

    def open_database(self) -> LeadDatabase:
        from .db import LeadDatabase

        return LeadDatabase.open(self.database_url, mapping=self.field_mapping())

    def pull_settings(self) -> PullSettings:
        from .sync.pull import PullSettings

        return PullSettings(
            bulk_threshold=self.sync.bulk_threshold,
            batch_size=self.sync.batch_size,
            lookback=dt.timedelta(seconds=self.sync.lookback),
        )

    def field_rules(self) -> FieldRules:
        """`sync.rules.FieldRules` from `[rules]` (who wins a conflict, per field)."""
        return _build_rules(self.rules)

    def push_settings(self) -> PushSettings:
        """`sync.push.PushSettings` from `[push]`."""
        return _build_push(self.push)

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data, secrets masked (for `leadsync config`)."""
        data = self.model_dump(mode="json")
        for key in SECRET_KEYS:
            if data["salesforce"].get(key) is not None:
                data["salesforce"][key] = "********"
        data["database_url"] = _mask_url_password(self.database_url)
        return data


def config_reference() -> str:
    """The configuration reference as a Markdown table, generated from the models (the README
    embeds it; a test keeps the two equal)."""
    rows = ["| key | environment variable | default | meaning |", "|---|---|---|---|"]
    rows.append(_reference_row("database_url", Settings.model_fields["database_url"]))
    for section, model in (("salesforce", SalesforceSettings), ("sync", SyncSettings)):
        for name, info in model.model_fields.items():
            rows.append(_reference_row(f"{section}.{name}", info))
    rows += [
        "| `[mapping.<Object>]` | | | Salesforce API name = person field name, for Lead, "
        "Contact, Account |",
        "| `[rules]` | | lead: marketing-wins, contact: salesforce-wins | who wins a conflict: "
        "`lead`, `contact`, then `[rules.fields]` and `[rules.Lead]`/`[rules.Contact]` per field |",
        "| `[push]` | | | `default_last_name`, `default_company`, `bulk_threshold`, "
        "`retry_delays`, `auto_create` (conditions for pushing new persons) |",
    ]
    return "\n".join(rows) + "\n"


def _reference_row(key: str, info: Any) -> str:
    env = ENV_PREFIX + key.replace(".", "_").upper()
    default = info.get_default(call_default_factory=True)
    if isinstance(default, SecretStr):
        shown = "(demo secret)"
    elif default is None:
        shown = ""
    else:
        shown = f"`{default}`"
    return f"| `{key}` | `{env}` | {shown} | {info.description or ''} |"


def load_config(path: str | Path | None = None) -> Settings:
    """Read `path` (default ./leadsync.toml if present), apply the environment, validate all.

    Raises `ConfigProblems` listing every problem at once.
    """
    table = _read_toml(path)
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings(**table)
    except PydanticValidationError as exc:
        problems.extend(_describe(error) for error in exc.errors())
    if settings is not None:
        problems.extend(_check_login(settings))
        problems.extend(_check_database_url(settings.database_url))
    elif isinstance(table.get("database_url", ""), str):
        url = os.environ.get(f"{ENV_PREFIX}DATABASE_URL", table.get("database_url"))
        problems.extend(_check_database_url(url) if url else [])
    problems.extend(_check_tables(table))
    if problems:
        raise ConfigProblems(problems)
    assert settings is not None
    return settings


def _read_toml(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        default = Path(CONFIG_FILE)
        if not default.exists():
            return {}
        path = default
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigProblems([f"{file}: no such configuration file"]) from None
    except OSError as exc:
        raise ConfigProblems([f"{file}: cannot read: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems([f"{file}: not valid TOML: {exc}"]) from None


_MESSAGES = {
    "greater_than": "must be > {gt:g}",
    "greater_than_equal": "must be >= {ge:g}",
    "less_than_equal": "must be <= {le:g}",
    "less_than": "must be < {lt:g}",
    "extra_forbidden": "unknown key",
    "string_pattern_mismatch": "must look like {pattern}",
}


def _describe(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(file)"
    env_name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
    if env_name in os.environ:
        key += f" (from {env_name})"
    template = _MESSAGES.get(str(error["type"]))
    context = error.get("ctx") or {}
    if template is not None:
        message = template.format(**context)
    else:
        message = str(error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        message = message[:1].lower() + message[1:]
    return f"{key}: {message}"


def _check_login(settings: Settings) -> list[str]:
    problems: list[str] = []
    try:
        settings.credentials().grant_type  # noqa: B018 - raises when no grant is possible
    except LeadsyncError as exc:
        problems.append(f"salesforce: {exc.message}")
    key_file = settings.salesforce.jwt_key_file
    if key_file is not None and not key_file.is_file():
        problems.append(f"salesforce.jwt_key_file: no such file: {key_file}")
    return problems


def _check_database_url(url: str) -> list[str]:
    try:
        database_url(url)
    except LeadsyncError as exc:
        return [f"database_url: {exc.message}"]
    return []


def _check_tables(table: Mapping[str, Any]) -> list[str]:
    """`[mapping]`, `[rules]` and `[push]` are checked by the modules that use them."""
    from .db.mapping import FieldMapping

    problems: list[str] = []
    builders = (
        ("mapping", FieldMapping.from_config),
        ("rules", _build_rules),
        ("push", _build_push),
    )
    for section, build in builders:
        value = table.get(section, {})
        if not isinstance(value, Mapping) or not value:
            continue  # reported by the model already, or nothing to check
        try:
            build(value)
        except ConfigProblems as exc:
            problems.extend(exc.problems)
        except ConfigError as exc:
            text = exc.message.removeprefix(f"invalid [{section}]: ")
            problems.extend(_prefixed(section, line) for line in text.split("; "))
    return problems


def _build_rules(table: Mapping[str, Any]) -> FieldRules:
    from .sync.rules import FieldRules

    return FieldRules.from_config(table)


def _build_push(table: Mapping[str, Any]) -> PushSettings:
    from .sync import push

    return _push_settings(push, table)


def _prefixed(section: str, line: str) -> str:
    return line if line.startswith(section) else f"{section}: {line}"


def _push_settings(push_module: Any, table: Mapping[str, Any]) -> PushSettings:
    """PushSettings from `[push]`, each key checked against the type of its default.

    `auto_create` is a list of conditions, all of which must hold:
    `auto_create = [{ field = "leadScore", op = ">=", value = 50 }]`.
    """
    cls = push_module.PushSettings
    defaults = cls()
    known = set(getattr(cls, "__dataclass_fields__", {}))
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in table.items():
        default = getattr(defaults, key, None)
        if key not in known:
            problems.append(f"push.{key}: unknown key")
        elif key == "auto_create":
            try:
                values[key] = _conditions(value)
            except (ConfigError, TypeError, ValueError) as exc:
                problems.append(f"push.{key}: {getattr(exc, 'message', exc)}")
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value
            ):
                problems.append(f"push.{key}: must be a list of positive numbers")
            else:
                values[key] = tuple(float(v) for v in value)
        elif isinstance(value, bool) or not isinstance(value, type(default)):
            problems.append(f"push.{key}: must be a {type(default).__name__}")
        elif isinstance(default, int) and isinstance(value, int) and value <= 0:
            problems.append(f"push.{key}: must be > 0")
        else:
            values[key] = value
    if problems:
        raise ConfigProblems(problems)
    settings: PushSettings = cls(**values)
    return settings


def _conditions(value: Any) -> tuple[Any, ...]:
    from .sync.conditions import Condition

    if not isinstance(value, list) or not all(isinstance(c, Mapping) for c in value):
        raise ValueError('expected a list of { field = "...", op = "...", value = ... }')
    conditions = []
    for entry in value:
        unknown = set(entry) - {"field", "op", "value"}
        if unknown or "field" not in entry or "op" not in entry:
            raise ValueError(f"each condition needs field and op (and value), got {dict(entry)}")
        conditions.append(Condition(str(entry["field"]), str(entry["op"]), entry.get("value")))
    return tuple(conditions)


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _mask_url_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
