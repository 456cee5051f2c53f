"""`leadsync sync`, `status`, `errors`, `config`: running the sync and seeing how it does."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .cli_common import (
    CONFIG_OPTION,
    JSON_OPTION,
    errors_as_lines,
    fail,
    print_json,
    settings,
)
from .db.types import utcnow


def register(app: typer.Typer, command_class: Any) -> None:
    app.command("sync", cls=command_class)(sync)
    app.command("status", cls=command_class)(status)
    app.command("errors", cls=command_class)(errors)
    app.command("config", cls=command_class)(show_config)


def sync(
    once: bool = typer.Option(False, "--once", help="Run one full cycle and exit."),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between cycles (default: sync.interval, 300)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every batch and call."),
    config: Path | None = CONFIG_OPTION,
) -> None:
    """The sync loop: a cycle (pull, then push), wait the interval, again, until Ctrl+C or
    SIGTERM (which finish the batch being stored, then exit 0).

    Example: leadsync sync --once
    """
    from rich.console import Console

    from .cli_progress import copy_progress
    from .runner import LoopOptions, Runner, StopFlag, stop_on_signals

    conf = settings("sync", config)
    if interval is not None and interval <= 0:
        fail("sync", "--interval must be > 0", 2)
    _setup_logging(verbose)
    options = LoopOptions(
        interval=interval if interval is not None else conf.sync.interval,
        once=once,
        history_days=conf.sync.history_days,
        lock_ttl=dt.timedelta(seconds=conf.sync.lock_ttl),
    )
    code = 0
    with errors_as_lines("sync"):
        db = conf.open_database()
        client = conf.salesforce_client()
        try:
            stop = StopFlag()
            runner = Runner(db, client, conf, options, stop=stop)
            # Bars for a person at a terminal; logs and pipes get the one-line-per-object log.
            bars = Console(stderr=True)
            with (
                stop_on_signals(stop),
                copy_progress(runner.syncer.puller, bars, enabled=bars.is_terminal),
            ):
                code = runner.run()
        finally:
            client.http.close()
            db.close()
    raise typer.Exit(code)


def status(
    json: bool = JSON_OPTION,
    salesforce: bool = typer.Option(
        False,
        "--salesforce",
        help="Also count the Salesforce-side changes waiting to be pulled (a call per 5 objects).",
    ),
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Per object: the last run and its counts, the backlog, open errors; the API budget.
    Reads the database only, unless --salesforce.

    Example: leadsync status --json
    """
    from .status import salesforce_backlog, status_report

    conf = settings("status", config)
    with errors_as_lines("status"):
        db = conf.open_database()
        try:
            report = status_report(db, now=utcnow(), budget_share=conf.sync.budget_share)
            if salesforce:
                client = conf.salesforce_client()
                try:
                    waiting = salesforce_backlog(db, client)
                finally:
                    client.http.close()
                for entry in report["objects"]:
                    entry["backlog"]["salesforce"] = waiting.get(entry["object"])
        finally:
            db.close()
    if json:
        print_json(report)
        return
    print_status(report)


def print_status(report: dict[str, Any], console: Console | None = None) -> None:
    """The status report as text (the demo prints it too)."""
    from rich.table import Table

    # Piped output (scripts, CI logs) gets a fixed width rather than 80 columns of wrapping.
    out = console or Console(width=None if sys.stdout.isatty() else 140)
    cycle = report["lastCycle"]
    if cycle is None:
        out.print("No sync cycle has run yet: start one with `leadsync sync --once`.")
    else:
        out.print(
            f"Last cycle: {cycle['status']}, {cycle['startedAt']} -> {cycle['endedAt']}, "
            f"{cycle['apiCalls']} API calls"
            + (f" ({cycle['message']})" if cycle["message"] else "")
        )
    if report["paused"]:
        out.print(f"[bold]PAUSED[/bold]: {report['pausedReason']}")
    table = Table(show_edge=False)
    for column in ("object", "last run", "status", "ended"):
        table.add_column(column, no_wrap=True)
    for column in ("new", "upd", "del", "failed", "skip", "to push", "to pull", "errors"):
        table.add_column(column, justify="right", no_wrap=True)
    for entry in report["objects"]:
        run = entry["lastRun"] or {}
        table.add_row(
            entry["object"],
            _OPERATIONS.get(run.get("operation", ""), run.get("operation", "-")),
            run.get("status", "-"),
            _short_time(run.get("endedAt")),
            *(str(run.get(key, 0)) for key in ("new", "updated", "deleted", "failed", "skipped")),
            str(entry["backlog"]["leadsync"]),
            "-" if entry["backlog"]["salesforce"] is None else str(entry["backlog"]["salesforce"]),
            str(entry["openErrors"]),
        )
    out.print(table)
    api = report["api"]
    limit = f"{api['orgUsed']} of {api['orgLimit']}" if api["orgLimit"] else "unknown"
    cap = (
        f"{api['cap']} ({api['capShare']:.0%})"
        if api["cap"] is not None
        else f"{api['capShare']:.0%}"
    )
    out.print(
        f"API calls today: {api['usedToday']} by leadsync; org usage {limit}; cap {cap}. "
        f"Unlinked persons' pending changes: {report['unlinkedBacklog']}. "
        f"Open sync errors: {report['openErrors']}."
    )


_OPERATIONS = {"Initial copy": "copy", "Pull updates": "pull", "Push updates": "push"}


def _short_time(stamp: str | None) -> str:
    return stamp[5:19].replace("T", " ") if stamp else "-"


def errors(
    json: bool = JSON_OPTION,
    csv_file: Path | None = typer.Option(None, "--csv", help="Also write every error to FILE."),
    retry: bool = typer.Option(False, "--retry", help="Re-queue the record errors for push."),
    limit: int = typer.Option(10, "--limit", help="Errors shown per code (text output)."),
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Open sync errors grouped by error code, each with person id, Salesforce id, fields and
    message. `--retry` re-queues them for the next push.

    Example: leadsync errors --csv errors.csv
    """
    from .status import errors_report, retry_errors

    conf = settings("errors", config)
    with errors_as_lines("errors"):
        db = conf.open_database()
        try:
            requeued = retry_errors(db, now=utcnow()) if retry else None
            report = errors_report(db)
        finally:
            db.close()
        if csv_file is not None:
            _write_csv(csv_file, report)
    if requeued is not None:
        report["retried"] = {"requeued": requeued[0], "notRetriable": requeued[1]}
    if json:
        print_json(report)
        return
    if requeued is not None:
        typer.echo(
            f"re-queued {requeued[0]} error(s) for the next push"
            + (f"; {requeued[1]} cannot be retried from here" if requeued[1] else "")
        )
    if not report["groups"]:
        typer.echo("No open sync errors.")
    for group in report["groups"]:
        typer.echo(f"{group['code']} ({group['count']})")
        for e in group["errors"][: max(limit, 0)]:
            fields = ", ".join(e["fields"]) or "-"
            typer.echo(
                f"  person {e['personId'] or '-'}  {e['object'] or '-'} {e['sfdcId'] or '-'}  "
                f"fields {fields}: {e['message']}"
            )
        if group["count"] > limit:
            typer.echo(f"  ... {group['count'] - limit} more (--json or --csv FILE for all)")


def _write_csv(path: Path, report: dict[str, Any]) -> None:
    columns = ["code", "id", "at", "level", "object", "personId", "sfdcId", "fields", "message"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for group in report["groups"]:
            for e in group["errors"]:
                row = {**e, "code": group["code"], "fields": ";".join(e["fields"])}
                writer.writerow([row.get(c) if row.get(c) is not None else "" for c in columns])


def show_config(json: bool = JSON_OPTION, config: Path | None = CONFIG_OPTION) -> None:
    """The effective configuration (file + environment + defaults), secrets masked.

    Example: leadsync config --json
    """
    conf = settings("config", config)
    data = conf.masked()
    if json:
        print_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            typer.echo(f"[{key}]")
            for inner, item in value.items():
                typer.echo(f"  {inner} = {item!r}")
        else:
            typer.echo(f"{key} = {value!r}")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    @property  # type: ignore[override,unused-ignore]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _setup_logging(verbose: bool) -> None:
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    # httpx logs every request at INFO; only --verbose wants that (URLs carry no secret).
    logging.getLogger("httpx").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
