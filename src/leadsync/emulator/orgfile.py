"""The org definition file (TOML): users, profiles, queues, OAuth clients, custom objects
and fields, validation and duplicate rules, limits and initial faults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import SalesforceError
from .schema import (
    VALIDATION_KINDS,
    DuplicateRule,
    FieldDef,
    Profile,
    Schema,
    SObjectDef,
    ValidationRule,
)
from .standard_objects import standard_schema, system_fields

_FIELD_TYPES = frozenset(
    {
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "email",
        "phone",
        "url",
        "boolean",
        "int",
        "double",
        "currency",
        "percent",
        "date",
        "datetime",
        "reference",
        "time",
        "long",
    }
)


class OrgFileError(ValueError):
    """The org definition file is malformed; the message names the entry."""


@dataclass(frozen=True)
class UserSpec:
    username: str
    password: str
    first_name: str
    last_name: str
    email: str
    profile: str
    title: str = ""
    # Appended to the password by SOAP and password-grant logins; empty unless the file sets one.
    security_token: str = ""


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()
    # PEM certificate or public key (text or a file path) that JWT bearer assertions must be
    # signed for; empty means dev mode (any well-formed, unexpired RS256 assertion).
    jwt_public_key: str = ""
    # The user the client_credentials grant runs as.
    run_as: str = "sync@example.com"
    # Issue a new refresh token (and revoke the old one) on every refresh_token grant.
    rotate_refresh_tokens: bool = False


@dataclass(frozen=True)
class QueueSpec:
    name: str
    developer_name: str
    objects: tuple[str, ...]


@dataclass(frozen=True)
class AssignmentRuleSpec:
    """The org's default assignment rule, reduced to one entry: every new record of `object`
    goes to `owner` (a queue name or a username)."""

    object: str
    name: str
    owner: str
    active: bool = True


@dataclass
class OrgDefinition:
    name: str = "Emulated Org"
    api_request_limit: int = 5_000_000
    session_lifetime_seconds: int = 7200
    schema: Schema = field(default_factory=standard_schema)
    profiles: dict[str, Profile] = field(default_factory=dict)
    users: list[UserSpec] = field(default_factory=list)
    oauth_clients: list[OAuthClient] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    assignment_rule: AssignmentRuleSpec | None = None


def demo_definition_path() -> Path:
    return Path(str(resources.files("leadsync.emulator") / "orgs" / "demo.toml"))


def load(path: str | Path | None = None) -> OrgDefinition:
    """Read an org file (the demo org when `path` is None)."""
    source = Path(path) if path else demo_definition_path()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OrgFileError(f"{source}: {exc}") from exc
    return from_mapping(data)


def from_mapping(data: dict[str, Any]) -> OrgDefinition:
    org = data.get("org", {})
    definition = OrgDefinition(
        name=str(org.get("name", "Emulated Org")),
        api_request_limit=int(org.get("api_request_limit", 5_000_000)),
        session_lifetime_seconds=int(org.get("session_lifetime_seconds", 7200)),
    )
    schema = definition.schema
    for index, spec in enumerate(data.get("custom_objects", [])):
        schema.add(_custom_object(spec, index, schema))
    for index, spec in enumerate(data.get("custom_fields", [])):
        target = schema.get(_require(spec, "object", f"custom_fields[{index}]"))
        if target is None:
            raise OrgFileError(f"custom_fields[{index}]: unknown object {spec['object']!r}")
        target.add(_field(spec, f"custom_fields[{index}]"))
    for index, spec in enumerate(data.get("validation_rules", [])):
        schema.validation_rules.append(_validation_rule(spec, index, schema))
    for index, spec in enumerate(data.get("duplicate_rules", [])):
        where = f"duplicate_rules[{index}]"
        schema.duplicate_rules.append(
            DuplicateRule(
                object=_require(spec, "object", where),
                name=_require(spec, "name", where),
                fields=tuple(spec.get("fields", ["Email"])),
                message=str(spec.get("message", "Use one of these records?")),
                active=bool(spec.get("active", True)),
            )
        )
    for spec in data.get("profiles", [{"name": "System Administrator"}]):
        profile = Profile(
            name=spec["name"],
            hidden_fields=frozenset(f.lower() for f in spec.get("hidden_fields", [])),
            readonly_fields=frozenset(f.lower() for f in spec.get("readonly_fields", [])),
            hidden_objects=frozenset(o.lower() for o in spec.get("hidden_objects", [])),
        )
        definition.profiles[profile.name] = profile
    for index, spec in enumerate(data.get("users", [])):
        where = f"users[{index}]"
        profile_name = spec.get("profile", "System Administrator")
        if profile_name not in definition.profiles:
            raise OrgFileError(f"{where}: unknown profile {profile_name!r}")
        definition.users.append(
            UserSpec(
                username=_require(spec, "username", where),
                password=_require(spec, "password", where),
                first_name=str(spec.get("first_name", "")),
                last_name=_require(spec, "last_name", where),
                email=str(spec.get("email", spec["username"])),
                profile=profile_name,
                title=str(spec.get("title", "")),
                security_token=str(spec.get("security_token", "")),
            )
        )
    for index, spec in enumerate(data.get("oauth_clients", [])):
        where = f"oauth_clients[{index}]"
        definition.oauth_clients.append(
            OAuthClient(
                client_id=_require(spec, "client_id", where),
                client_secret=_require(spec, "client_secret", where),
                redirect_uris=tuple(spec.get("redirect_uris", [])),
                jwt_public_key=str(spec.get("jwt_public_key", "")),
                run_as=str(spec.get("run_as", "sync@example.com")),
                rotate_refresh_tokens=bool(spec.get("rotate_refresh_tokens", False)),
            )
        )
    for index, spec in enumerate(data.get("queues", [])):
        where = f"queues[{index}]"
        definition.queues.append(
            QueueSpec(
                name=_require(spec, "name", where),
                developer_name=str(spec.get("developer_name", spec["name"].replace(" ", "_"))),
                objects=tuple(spec.get("objects", ["Lead"])),
            )
        )
    definition.faults = list(data.get("faults", []))
    rule = data.get("assignment_rule")
    if rule is not None:
        definition.assignment_rule = AssignmentRuleSpec(
            object=str(rule.get("object", "Lead")),
            name=_require(rule, "name", "assignment_rule"),
            owner=_require(rule, "owner", "assignment_rule"),
            active=bool(rule.get("active", True)),
        )
    return definition


def _require(spec: dict[str, Any], key: str, where: str) -> str:
    if key not in spec:
        raise OrgFileError(f"{where}: missing {key!r}")
    return str(spec[key])


def _field(spec: dict[str, Any], where: str) -> FieldDef:
    name = _require(spec, "name", where)
    kind = str(spec.get("type", "string"))
    if kind not in _FIELD_TYPES:
        raise OrgFileError(f"{where}: unsupported field type {kind!r}")
    if not name.endswith("__c"):
        raise OrgFileError(f"{where}: custom field names end in __c, got {name!r}")
    length = int(spec.get("length", 255 if kind in ("string", "picklist", "url") else 0))
    if kind == "textarea":
        length = int(spec.get("length", 32768))
    if kind == "email":
        length = 80
    if kind == "phone":
        length = 40
    if kind == "reference":
        length = 18
    relationship = spec.get("relationship_name")
    if kind == "reference" and not relationship:
        relationship = name.removesuffix("__c") + "__r"
    definition = FieldDef(
        name=name,
        type=kind,
        label=str(spec.get("label", "")),
        length=length,
        precision=int(spec.get("precision", 18 if kind in ("double", "currency") else 0)),
        scale=int(spec.get("scale", 0)),
        nillable=not bool(spec.get("required", False)) and kind != "boolean",
        external_id=bool(spec.get("external_id", False)),
        unique=bool(spec.get("unique", False)),
        custom=True,
        reference_to=list(spec.get("reference_to", [])),
        relationship_name=relationship,
        picklist_values=list(spec.get("values", [])),
        restricted_picklist=bool(spec.get("restricted", False)),
        createable=not bool(spec.get("read_only", False)),
        updateable=not bool(spec.get("read_only", False)),
    )
    if kind == "boolean":
        definition.defaulted_on_create = True
        definition.default_value = bool(spec.get("default", False))
    return definition


def _custom_object(spec: dict[str, Any], index: int, schema: Schema) -> SObjectDef:
    where = f"custom_objects[{index}]"
    name = _require(spec, "name", where)
    if not name.endswith("__c"):
        raise OrgFileError(f"{where}: custom object names end in __c, got {name!r}")
    prefix = str(spec.get("key_prefix", f"a0{chr(ord('A') + index % 26)}"))
    obj = SObjectDef(name, prefix, label=str(spec.get("label", "")), custom=True)
    obj.add(*system_fields(with_master=False))
    obj.add(FieldDef("Name", "string", length=80, name_field=True, nillable=True))
    obj.add(
        FieldDef(
            "OwnerId",
            "reference",
            length=18,
            reference_to=["User"],
            relationship_name="Owner",
            nillable=False,
            defaulted_on_create=True,
        )
    )
    for position, field_spec in enumerate(spec.get("fields", [])):
        obj.add(_field(field_spec, f"{where}.fields[{position}]"))
    return obj


def _validation_rule(spec: dict[str, Any], index: int, schema: Schema) -> ValidationRule:
    where = f"validation_rules[{index}]"
    kind = _require(spec, "kind", where)
    if kind not in VALIDATION_KINDS:
        raise OrgFileError(f"{where}: kind must be one of {sorted(VALIDATION_KINDS)}")
    obj = schema.get(_require(spec, "object", where))
    if obj is None:
        raise OrgFileError(f"{where}: unknown object {spec['object']!r}")
    target = obj.field(_require(spec, "field", where))
    if target is None:
        raise OrgFileError(f"{where}: unknown field {obj.name}.{spec['field']}")
    return ValidationRule(
        object=obj.name,
        name=_require(spec, "name", where),
        field=target.name,
        kind=kind,
        message=_require(spec, "message", where),
        value=spec.get("value"),
        active=bool(spec.get("active", True)),
    )


def unknown_object(name: str) -> SalesforceError:
    return SalesforceError(
        "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'", 404
    )
