"""The emulator served over a real socket: uvicorn in a background thread on a free port.

Third-party clients speak HTTP through `requests`, so they need a listening server rather than
an in-process ASGI transport.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from leadsync.emulator.app import create_app
from leadsync.emulator.org import Org


class EmulatorServer:
    """Serves `org` on 127.0.0.1 (a free port) until `stop()`; sets `org.instance_url`.

    `advertise` overrides the instance URL handed to clients after login (e.g.
    `https://emulator.local`, which the redirect adapter maps back here)."""

    def __init__(self, org: Org, *, advertise: str | None = None) -> None:
        self.org = org
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        org.instance_url = advertise or self.url
        config = uvicorn.Config(
            create_app(org), log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> EmulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
