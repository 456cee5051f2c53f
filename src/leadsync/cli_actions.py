"""`leadsync person ...` flow actions beyond Sync Person and Convert: campaigns, owner, task,
delete. Each is a thin shell over `sync.actions.Actions`; a person not yet in Salesforce is
synced first, as Marketo's implied actions do."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer

from .cli_common import CONFIG_OPTION, JSON_OPTION, print_json
from .cli_person import with_actions

PERSON_ID = typer.Argument(..., help="The person's id.")
CAMPAIGN = typer.Argument(..., help="A Salesforce Campaign id or the campaign's exact name.")


def register(person: typer.Typer, command_class: Any) -> None:
    person.command("add-to-campaign", cls=command_class)(add_to_campaign)
    person.command("change-campaign-status", cls=command_class)(change_campaign_status)
    person.command("remove-from-campaign", cls=command_class)(remove_from_campaign)
    person.command("change-owner", cls=command_class)(change_owner)
    person.command("create-task", cls=command_class)(create_task)
    person.command("delete-from-salesforce", cls=command_class)(delete_from_salesforce)


def _outcome(outcome: Any, as_json: bool) -> None:
    data = dataclasses.asdict(outcome)
    if as_json:
        print_json(data)
        return
    what = "done" if data["done"] else f"skipped ({data['reason']})"
    status = f", status {data['status']!r}" if data.get("status") else ""
    typer.echo(f"{data['action']}: {what}: campaign {data['campaign_name']!r}{status}")


def add_to_campaign(
    person_id: int = PERSON_ID,
    campaign: str = CAMPAIGN,
    status: str | None = typer.Option(None, "--status", help="Default: the campaign's default."),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Add to SFDC Campaign; an existing member is skipped and keeps its status.

    Example: leadsync person add-to-campaign 42 "Spring Webinar" --status Registered
    """
    outcome = with_actions(
        "person add-to-campaign",
        config,
        lambda actions: actions.add_to_campaign(person_id, campaign, status=status),
    )
    _outcome(outcome, json)


def change_campaign_status(
    person_id: int = PERSON_ID,
    campaign: str = CAMPAIGN,
    status: str = typer.Argument(..., help="The new member status."),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Change Status in SFDC Campaign; a person not yet a member is added with it.

    Example: leadsync person change-campaign-status 42 "Spring Webinar" Attended
    """
    outcome = with_actions(
        "person change-campaign-status",
        config,
        lambda actions: actions.change_campaign_status(person_id, campaign, status),
    )
    _outcome(outcome, json)


def remove_from_campaign(
    person_id: int = PERSON_ID,
    campaign: str = CAMPAIGN,
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Remove from SFDC Campaign; a non-member is skipped.

    Example: leadsync person remove-from-campaign 42 "Spring Webinar"
    """
    outcome = with_actions(
        "person remove-from-campaign",
        config,
        lambda actions: actions.remove_from_campaign(person_id, campaign),
    )
    _outcome(outcome, json)


def change_owner(
    person_id: int = PERSON_ID,
    owner: str = typer.Argument(..., help="A User id, or a lead Queue id (leads only)."),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Change Owner of the person's lead or contact.

    Example: leadsync person change-owner 42 0055e000000000BAAQ
    """
    person = with_actions(
        "person change-owner", config, lambda actions: actions.change_owner(person_id, owner)
    )
    if json:
        print_json(person)
        return
    typer.echo(f"person {person_id} ({person.get('sfdcType')}) is owned by {owner}")


def create_task(
    person_id: int = PERSON_ID,
    subject: str = typer.Option(..., "--subject", help="The task's subject."),
    description: str = typer.Option(
        "", "--description", help="Text; {{lead.field}} tokens are filled from the person."
    ),
    due_in_days: int = typer.Option(5, "--due-in-days", min=0, help="Due date, days from now."),
    owner: str | None = typer.Option(None, "--owner", help="Default: the record's owner."),
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Create Task on the person's lead or contact in Salesforce.

    Example: leadsync person create-task 42 --subject "Call {{lead.firstName}}" --due-in-days 2
    """
    task_id = with_actions(
        "person create-task",
        config,
        lambda actions: actions.create_task(
            person_id, subject, description=description, due_in_days=due_in_days, owner_id=owner
        ),
    )
    if json:
        print_json({"personId": person_id, "taskId": task_id})
        return
    typer.echo(f"task {task_id} created for person {person_id}")


def delete_from_salesforce(
    person_id: int = PERSON_ID,
    json: bool = JSON_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Delete Person from SFDC: the lead or contact goes; the person stays, sfdcIsDeleted.

    Example: leadsync person delete-from-salesforce 42
    """
    person = with_actions(
        "person delete-from-salesforce",
        config,
        lambda actions: actions.delete_from_salesforce(person_id),
    )
    if json:
        print_json(person)
        return
    typer.echo(f"person {person_id} deleted from Salesforce (sfdcIsDeleted: true)")
