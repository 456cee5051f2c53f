"""The emulator served over a real socket, for clients that speak HTTP through `requests`.

Kept as a name other test modules import; the implementation is the emulator's own
`ServerThread` (uvicorn in a daemon thread on a free 127.0.0.1 port, setting
`org.instance_url`, or the `advertise`d URL).
"""

from __future__ import annotations

from leadsync.emulator.server import ServerThread as EmulatorServer

__all__ = ["EmulatorServer"]
