"""The `leadsync` command: a thin Typer shell over the library."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def main() -> None:
    """leadsync: a lead database in two-way sync with Salesforce."""
