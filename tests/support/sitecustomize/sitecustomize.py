"""Point every `requests.Session` of this interpreter at the local Salesforce emulator.

Put this directory on PYTHONPATH and set LEADSYNC_EMULATOR_URL (e.g. `http://127.0.0.1:8484`);
optionally LEADSYNC_EMULATOR_HOSTS, a comma-separated list of further https prefixes to send
there. Python imports `sitecustomize` at start-up, so an unmodified client (tap-salesforce)
gets the redirecting adapter on each session it creates. Without the variable this is a no-op.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any


def _load_redirect() -> Any:
    # Loaded by path: this interpreter (tap-salesforce's venv) has no leadsync package.
    path = Path(__file__).resolve().parent.parent / "redirect.py"
    spec = importlib.util.spec_from_file_location("_leadsync_redirect", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install(target: str) -> None:
    import requests

    redirect = _load_redirect()
    extra = [
        h.strip() for h in os.environ.get("LEADSYNC_EMULATOR_HOSTS", "").split(",") if h.strip()
    ]
    original_init = requests.Session.__init__

    def patched_init(self: requests.Session, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        redirect.mount(self, target, extra)

    requests.Session.__init__ = patched_init  # type: ignore[method-assign]


_TARGET = os.environ.get("LEADSYNC_EMULATOR_URL")
if _TARGET:
    _install(_TARGET)
