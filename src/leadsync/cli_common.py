"""What the CLI's command modules share: loading the configuration, printing JSON, and turning
library errors into one line on stderr and an exit code (the CLI is the only place that does)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from .config import ConfigProblems, Settings, load_config
from .errors import ConfigError, LeadsyncError, NotFound, ValidationError

EXIT_FAILURE, EXIT_USAGE, EXIT_CONFIG = 1, 2, 3

CONFIG_OPTION = typer.Option(
    None,
    "--config",
    help="Configuration file (default: ./leadsync.toml if it exists).",
    envvar="LEADSYNC_CONFIG",
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON (a stable shape) instead of text.")


def one_line(text: str) -> str:
    return " ".join(text.split())


def fail(command: str, message: str, code: int = EXIT_FAILURE) -> NoReturn:
    typer.echo(f"leadsync {command}: error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def settings(command: str, path: Path | None) -> Settings:
    """The validated configuration, or every problem on its own line and exit code 3."""
    try:
        return load_config(path)
    except ConfigProblems as exc:
        for problem in exc.problems:
            typer.echo(f"leadsync {command}: config error: {one_line(problem)}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except Exception as exc:  # one line, never a traceback
        fail(command, f"cannot load the configuration: {type(exc).__name__}: {exc}")


@contextmanager
def errors_as_lines(command: str) -> Iterator[None]:
    """Library errors become one line and an exit code; never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except ConfigProblems as exc:
        for problem in exc.problems:
            typer.echo(f"leadsync {command}: config error: {one_line(problem)}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except ConfigError as exc:
        fail(command, f"config error: {exc.message}", EXIT_CONFIG)
    except (NotFound, ValidationError) as exc:
        fail(command, exc.message, EXIT_USAGE if isinstance(exc, ValidationError) else 4)
    except LeadsyncError as exc:
        fail(command, str(exc))
    except Exception as exc:  # still one line: scripts and people read the same message
        fail(command, f"unexpected {type(exc).__name__}: {exc}")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
    sys.stdout.flush()
