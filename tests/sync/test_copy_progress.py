"""The initial copy's progress bars, as a person at a terminal sees them."""

from __future__ import annotations

import io

from rich.console import Console

from leadsync.cli_progress import copy_progress
from leadsync.db import LeadDatabase
from leadsync.emulator.org import Org
from leadsync.emulator.seed import seed_demo

from .conftest import PullerFactory


def test_the_copy_draws_a_bar_per_object_at_a_terminal(
    org: Org, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=30)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    puller = make_puller(sqlite_db)
    with copy_progress(puller, console):
        puller.run()
    drawn = screen.getvalue()
    assert "copying Lead" in drawn and "copying Contact" in drawn
    leads = len(sqlite_db.find_persons(sfdcType="Lead"))
    assert f"{leads}/" in drawn or "30/30" in drawn
    assert puller.progress is None  # the hook is taken off again


def test_no_bars_when_not_at_a_terminal(
    org: Org, sqlite_db: LeadDatabase, make_puller: PullerFactory
) -> None:
    seed_demo(org, records=5)
    screen = io.StringIO()
    puller = make_puller(sqlite_db)
    with copy_progress(puller, Console(file=screen), enabled=False):
        puller.run()
    assert screen.getvalue() == ""
