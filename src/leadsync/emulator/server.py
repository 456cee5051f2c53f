"""Serving the emulator with uvicorn: in the foreground (`leadsync emulator`) or in a
background thread on a free port (tests, the demo, benchmarks)."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import uvicorn

from . import orgfile
from .app import DroppedConnection, create_app
from .clock import Clock
from .org import Org
from .seed import SeedSummary, seed_org

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8484


@dataclass(frozen=True)
class OrgOptions:
    """What `leadsync emulator` lets one choose about the org it serves."""

    db: str | None = None
    org_file: str | None = None
    seed: str = "demo"
    records: int | None = None
    api_limit: int | None = None
    session_lifetime: int | None = None
    # Seconds in the past the seeded records are stamped: an org that has been idle since (so
    # a sync's lookback window does not re-read the whole seed).
    seed_age: int = 0


def build_org(options: OrgOptions) -> tuple[Org, SeedSummary]:
    """Load the org definition, apply overrides, open the database and seed it once.

    Raises `orgfile.OrgFileError`, `seed.SeedError` or `ValueError` with a one-line message.
    """
    if options.api_limit is not None and options.api_limit < 1:
        raise ValueError("--api-limit must be at least 1")
    if options.session_lifetime is not None and options.session_lifetime < 1:
        raise ValueError("--session-lifetime must be at least 1 second")
    if options.records is not None and options.records < 0:
        raise ValueError("--records must be zero or more")
    if options.seed_age < 0:
        raise ValueError("--seed-age must be zero or more seconds")
    if options.org_file is not None and not Path(options.org_file).is_file():
        raise ValueError(f"org file not found: {options.org_file}")
    definition = orgfile.load(options.org_file)
    if options.api_limit is not None:
        definition.api_request_limit = options.api_limit
    if options.session_lifetime is not None:
        definition.session_lifetime_seconds = options.session_lifetime
    if options.db is not None:
        parent = Path(options.db).expanduser().resolve().parent
        if not parent.is_dir():
            raise ValueError(f"directory for --db does not exist: {parent}")
    clock = Clock()
    if options.seed_age:  # from the bootstrap users on: the whole org was made that long ago
        clock.freeze(time.time() - options.seed_age)
    org = Org(definition, options.db, clock=clock)
    try:
        summary = seed_org(org, options.seed, records=options.records)
    except BaseException:
        org.close()
        raise
    finally:
        if options.seed_age:
            org.clock.reset()
    return org, summary


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound now so a busy port is reported before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted connections whose
    # socket says so, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _QuietDrops(logging.Filter):
    """Connections dropped on purpose (fault injection) are not server errors to log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


_QUIET_DROPS = _QuietDrops()


class _ForegroundServer(uvicorn.Server):
    """Stops gracefully on Ctrl+C or SIGTERM and then returns, so the caller can close the
    org (flush the API counter, remove an in-memory org's file) and exit with status 0.
    Plain uvicorn re-raises the signal after shutting down, which would kill the process
    before that cleanup."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        originals = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def make_server(
    org: Org, *, log_level: str = "warning", server_class: type[uvicorn.Server] = uvicorn.Server
) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(org),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # Bulk downloads and long polls are fine; idle keep-alives need not linger.
        timeout_keep_alive=30,
    )
    server = server_class(config)
    # uvicorn configures its loggers when the config is loaded; filter after that.
    config.load()
    logger = logging.getLogger("uvicorn.error")
    if _QUIET_DROPS not in logger.filters:
        logger.addFilter(_QUIET_DROPS)
    return server


def serve(org: Org, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve `org` on `sock` until interrupted (Ctrl+C or SIGTERM); blocks."""
    org.instance_url = base_url(sock)
    make_server(org, log_level=log_level, server_class=_ForegroundServer).run(sockets=[sock])


class ServerThread:
    """Serves `org` with uvicorn in a daemon thread on `host` (a free port unless given).

    Use as a context manager; `.url` is the served address, also set as `org.instance_url`
    (pass `advertise` to hand clients a different instance URL after login).
    """

    def __init__(
        self, org: Org, *, host: str = DEFAULT_HOST, port: int = 0, advertise: str | None = None
    ) -> None:
        self.org = org
        self._socket = listen(host, port)
        self.url = base_url(self._socket)
        self.port: int = self._socket.getsockname()[1]
        org.instance_url = advertise or self.url
        self._server = make_server(org)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"emulator-{self.port}",
        )

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()  # `__exit__` never runs when `__enter__` raises: free the socket
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
