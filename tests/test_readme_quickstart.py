"""The README's two quick-start commands, as a new user would run them on a fresh machine:
a clean clone, a fresh virtual environment, the demo command typed literally; and `.ci/run`
running exactly the README's test command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(blocks) >= 2, "the quick start needs a demo command and a test command"
    demo, tests = (block.strip() for block in blocks[:2])
    assert "\n" not in demo and "\n" not in tests, "each quick-start command is one line"
    return demo, tests


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    _, test_command = _quick_start_commands()
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in script if line.strip() and not line.startswith("#")]
    assert commands[-1] == test_command
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


@pytest.mark.slow
def test_readmes_demo_command_works_in_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("this test needs git and a git checkout of leadsync")
    demo_command, _ = _quick_start_commands()
    clone = tmp_path / "leadsync"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "LEADSYNC_"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    result = subprocess.run(
        ["bash", "-c", demo_command],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = " ".join(result.stdout.split())
    assert "Traceback" not in result.stdout + result.stderr
    assert "Initial copy:" in text
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in text
    assert "now a Contact" in text
    assert re.search(r"Salesforce API calls used: \d+", text)
    assert (clone / ".venv" / "bin" / "leadsync").exists()
