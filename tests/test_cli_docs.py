"""The README's configuration reference is the one the code generates, and every command has
help and appears in the README's command table."""

from __future__ import annotations

from pathlib import Path

from leadsync.config import config_reference

from .cli_support import invoke

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = [
    ("init",),
    ("check",),
    ("config",),
    ("sync",),
    ("status",),
    ("errors",),
    ("person", "get"),
    ("person", "create"),
    ("person", "update"),
    ("person", "activities"),
    ("person", "sync-to-salesforce"),
    ("person", "convert"),
]


def test_readme_configuration_reference_is_generated_from_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- config-reference:start")
    block = text[text.index("\n", start) + 1 : text.index("<!-- config-reference:end -->")]
    assert block == config_reference()


def test_every_command_has_help_and_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for command in COMMANDS:
        result = invoke(*command, "--help")
        assert result.code == 0 and "Example:" in result.stdout, command
        assert f"`leadsync {' '.join(command)}" in text, command
