"""tap-salesforce in its own virtual environment, created once under `<repo>/.cache/tap-venv`.

tap-salesforce pins old libraries (jsonschema 2.x, singer-python) that clash with ours, so it
never goes into the project's environment. CI starts from a clean clone, so the test creates the
environment itself (PyPI is reachable there); later runs reuse it while it still works.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TAP_PACKAGE = "tap-salesforce"
# The newest release on PyPI that installs on Python 3.11 here (verified: 2.8.1).
TAP_VERSION = "2.8.1"

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".cache" / "tap-venv"
_MARKER = "leadsync-tap.json"

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"[tap-venv] {message}", file=sys.stderr, flush=True)


def venv_python(venv: Path = VENV_DIR) -> Path:
    return venv / "bin" / "python"


def tap_executable(venv: Path = VENV_DIR) -> Path:
    return venv / "bin" / "tap-salesforce"


def _installed_version(venv: Path) -> str | None:
    python = venv_python(venv)
    if not python.exists() or not tap_executable(venv).exists():
        return None
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, tap_salesforce; print(m.version('tap-salesforce'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _works(venv: Path) -> bool:
    marker = venv / _MARKER
    if not marker.exists():
        return False
    return _installed_version(venv) == TAP_VERSION


def _run(command: list[str], log: Log) -> None:
    log("$ " + " ".join(command))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        line = line.rstrip()
        tail = [*tail[-40:], line]
        if line.startswith(("Collecting", "Successfully", "ERROR", "Installing")):
            log(line)
    if process.wait() != 0:
        raise RuntimeError(f"command failed ({process.returncode}): {command}\n" + "\n".join(tail))


def _create(venv: Path, log: Log) -> None:
    if venv.exists():
        log(f"removing a broken or outdated environment at {venv}")
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    log(f"creating {venv} (one-time cost, needs PyPI)")
    _run([sys.executable, "-m", "venv", str(venv)], log)
    _run(
        [
            str(venv_python(venv)),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            f"{TAP_PACKAGE}=={TAP_VERSION}",
        ],
        log,
    )
    version = _installed_version(venv)
    if version != TAP_VERSION:
        raise RuntimeError(f"{TAP_PACKAGE} did not install (found {version!r})")
    (venv / _MARKER).write_text(json.dumps({"package": TAP_PACKAGE, "version": version}))
    log(f"{TAP_PACKAGE} {version} ready")


def ensure_tap_venv(venv: Path = VENV_DIR, log: Log = _stderr) -> Path:
    """Return the `tap-salesforce` executable, creating the environment on first use.

    A file lock makes concurrent test processes wait for one installer instead of racing."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / (venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _works(venv):
            log(f"reusing {venv} ({TAP_PACKAGE} {TAP_VERSION})")
        else:
            _create(venv, log)
    return tap_executable(venv)


def site_packages(venv: Path = VENV_DIR) -> Path:
    """Where the tap's own source lives, for reading what it sends."""
    matches = sorted((venv / "lib").glob("python*/site-packages"))
    if not matches:
        raise FileNotFoundError(f"no site-packages under {venv}")
    return matches[0]
