"""`leadsync person ...`: read and edit persons, and the flow actions that reach Salesforce."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from .cli_common import CONFIG_OPTION, JSON_OPTION, errors_as_lines, fail, print_json, settings
from .config import Settings
from .db import LeadDatabase

SET_OPTION = typer.Option(
    ...,
    "--set",
    help="FIELD=VALUE (person JSON names); repeat it. `FIELD=` or `FIELD=null` clears a field.",
)


def build(command_class: Any, group_class: Any) -> typer.Typer:
    person = typer.Typer(
        cls=group_class,
        no_args_is_help=True,
        help="Read and edit persons; run the flow actions on them.",
        rich_markup_mode=None,
    )
    person.command("get", cls=command_class)(get)
    person.command("create", cls=command_class)(create)
    person.command("update", cls=command_class)(update)
    person.command("activities", cls=command_class)(activities)
    person.command("sync-to-salesforce", cls=command_class)(sync_to_salesforce)
    person.command("convert", cls=command_class)(convert)
    from . import cli_actions  # the other flow actions, in a module of their own

    cli_actions.register(person, command_class)
    return person


def parse_sets(command: str, pairs: list[str]) -> dict[str, Any]:
    """`FIELD=VALUE` pairs as person fields. Values stay text: the database coerces them by the
    field's type (so "02139" stays a postal code and "42" becomes a number where one is due);
    `FIELD=` and `FIELD=null` clear the field."""
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            fail(command, f"--set {pair!r}: expected FIELD=VALUE", 2)
        if name in fields:
            fail(command, f"--set: field {name!r} given twice", 2)
        fields[name] = None if value in ("", "null") else value
    return fields


@contextmanager
def _database(command: str, config: Path | None) -> Iterator[tuple[Settings, LeadDatabase]]:
    conf = settings(command, config)
    with errors_as_lines(command):
        db = conf.open_database()
        try:
            yield conf, db
        finally:
            db.close()


def _show(person: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(person)
        return
    width = max(len(k) for k in person)
    for key, value in person.items():
        if value is not None and value != "":
            typer.echo(f"{key.ljust(width)}  {value}")


def get(
    person_id: int | None = typer.Argument(None, help="The person's id."),
    email: str | None = typer.Option(None, "--email", help="Find by email (the oldest match)."),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """A person, as person JSON (Marketo REST names; sync fields sfdcType, sfdcId, ...).

    Example: leadsync person get --email ada@example.com --json
    """
    if (person_id is None) == (email is None):
        fail("person get", "give a person ID or --email, not both", 2)
    with _database("person get", config) as (_, db):
        person = db.get_person(person_id) if person_id is not None else None
        if person is None:
            assert email is not None
            person = db.get_person_by_email(email)
    _show(person, json)


def create(
    sets: list[str] = SET_OPTION,
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Create a person; it is pushed to Salesforce by the sync if the push settings say so.

    Example: leadsync person create --set email=ada@example.com --set lastName=Lovelace
    """
    fields = parse_sets("person create", sets)
    with _database("person create", config) as (_, db):
        person = db.create_person(fields)
    if json:
        print_json(person)
    else:
        typer.echo(f"created person {person['id']}")


def update(
    person_id: int = typer.Argument(..., help="The person's id."),
    sets: list[str] = SET_OPTION,
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Change fields of a person; each change is queued for the next push.

    Example: leadsync person update 42 --set title=CTO --set numberOfEmployees=250
    """
    fields = parse_sets("person update", sets)
    with _database("person update", config) as (_, db):
        before = db.get_person(person_id)
        person = db.update_person(person_id, fields)
    if json:
        print_json(person)
        return
    changed = [name for name in fields if before.get(name) != person.get(name)]
    typer.echo(
        f"updated person {person_id}: {', '.join(changed)}"
        if changed
        else f"person {person_id}: nothing changed"
    )


def activities(
    person_id: int = typer.Argument(..., help="The person's id."),
    type_: list[str] = typer.Option([], "--type", help="Only activities of this type."),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """A person's activity log, oldest first.

    Example: leadsync person activities 42 --type "Change Data Value"
    """
    with _database("person activities", config) as (_, db):
        found = db.list_activities(person_id, types=type_ or None)
    if json:
        print_json(found)
        return
    for activity in found:
        attributes = ", ".join(f"{k}={v!r}" for k, v in (activity.get("attributes") or {}).items())
        typer.echo(f"{activity['at']}  {activity['type']}  {attributes}")


def sync_to_salesforce(
    person_id: int = typer.Argument(..., help="The person's id."),
    owner: str | None = typer.Option(
        None,
        "--owner",
        help="Owner for a new lead: a User or Queue id (default: the org's lead assignment).",
    ),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Sync Person to SFDC: create the lead now, or update the linked lead or contact.

    Example: leadsync person sync-to-salesforce 42 --owner 00G000000000001AAA
    """
    person = with_actions(
        "person sync-to-salesforce",
        config,
        lambda actions: actions.sync_person(person_id, owner_id=owner),
    )
    if json:
        print_json(person)
        return
    typer.echo(f"person {person_id} is {person.get('sfdcType')} {person.get('sfdcId')}")


def convert(
    person_id: int = typer.Argument(..., help="The person's id."),
    opportunity_name: str | None = typer.Option(
        None, "--opportunity-name", help="Name of the opportunity to create."
    ),
    no_opportunity: bool = typer.Option(
        False, "--no-opportunity", help="Convert without creating an opportunity."
    ),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Convert Person: the lead becomes a contact (and account, and opportunity).

    Example: leadsync person convert 42 --opportunity-name "Acme renewal"
    """
    person = with_actions(
        "person convert",
        config,
        lambda actions: actions.convert_person(
            person_id, opportunity_name=opportunity_name, create_opportunity=not no_opportunity
        ),
    )
    if json:
        print_json(person)
        return
    typer.echo(
        f"person {person_id} is now Contact {person.get('sfdcContactId')} "
        f"of account {person.get('sfdcAccountId')}"
    )


def with_actions(command: str, config: Path | None, call: Callable[[Any], Any]) -> Any:
    with _database(command, config) as (conf, db):
        try:
            from .sync.actions import Actions  # type: ignore[attr-defined,unused-ignore]
            from .sync.push import Pusher  # type: ignore[attr-defined,unused-ignore]
        except ModuleNotFoundError:
            fail(command, "this build of leadsync has no push yet")
        client = conf.salesforce_client()
        try:
            pusher = Pusher(db, client, settings=conf.push_settings(), rules=conf.field_rules())
            return call(Actions(db, client, pusher))
        finally:
            client.http.close()
