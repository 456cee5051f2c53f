"""`leadsync emulator` as a user runs it: a real process serving a real socket."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from leadsync.emulator.server import OrgOptions, ServerThread, build_org, listen

CONSOLE_SCRIPT = Path(sys.executable).parent / "leadsync"


def command(*args: str) -> list[str]:
    if CONSOLE_SCRIPT.exists():
        return [str(CONSOLE_SCRIPT), *args]
    return [sys.executable, "-m", "leadsync.cli", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"emulator exited early: {process.communicate()}")
        try:
            if httpx.get(f"{url}/services/data/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("emulator did not start")


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    process = subprocess.Popen(
        command("emulator", "--port", str(port), "--seed", "demo", "--records", "300"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_emulator_serves_the_demo_org_on_loopback(
    running: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = running
    status = httpx.get(f"{url}/_emulator/status").json()
    assert status["instanceUrl"] == url
    assert status["records"]["Lead"] == 300
    token = httpx.post(
        f"{url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "leadsync",
            "client_secret": "leadsync-secret",
            "username": "sync@example.com",
            "password": "password",
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["instance_url"] == url
    limits = httpx.get(
        f"{url}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert limits.status_code == 200
    # Bound to 127.0.0.1 only: another loopback address of this host is refused.
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=2):
        pass

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"at {url}" in out
    assert "sync@example.com" in out and "admin@example.com" in out
    assert "'password'" in out and "leadsync-secret" in out
    assert "Ctrl+C" in out
    assert out.rstrip().endswith("stopped")
    assert "Traceback" not in err


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("emulator", *args), capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--seed", "huge"), "unknown --seed 'huge'"),
        (("--port", "eighty"), "--port"),
        (("--port", "70000"), "--port"),
        (("--no-such-option",), "No such option"),
        (("--seed", "empty", "--records", "5"), "--records"),
        (("--records", "-3"), "--records"),
        (("--org-file", "/no/such/org.toml"), "org file not found"),
        (("--api-limit", "0"), "--api-limit"),
    ],
)
def test_bad_options_give_one_line_and_nonzero_exit(args: tuple[str, ...], needle: str) -> None:
    result = run_cli("--port", "0", *args)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadsync emulator: error:")
    assert needle in lines[0]


def test_busy_port_is_one_line_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        result = run_cli("--port", str(sock.getsockname()[1]), "--seed", "empty")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "cannot listen on 127.0.0.1" in result.stderr


def test_malformed_org_file_is_one_line_error(tmp_path: Path) -> None:
    org_file = tmp_path / "org.toml"
    org_file.write_text("[org\nname = 'broken'\n")
    result = run_cli("--org-file", str(org_file))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_build_org_applies_limit_and_session_overrides() -> None:
    org, summary = build_org(OrgOptions(seed="empty", api_limit=7, session_lifetime=60))
    try:
        assert summary.kind == "empty"
        assert org.limits.maximum == 7
        assert org.sessions.lifetime_seconds == 60
    finally:
        org.close()


def test_server_thread_serves_on_a_free_port_and_sets_instance_url() -> None:
    org, _summary = build_org(OrgOptions(seed="empty"))
    try:
        with ServerThread(org) as server:
            assert server.url.startswith("http://127.0.0.1:")
            assert org.instance_url == server.url
            status = httpx.get(f"{server.url}/_emulator/status").json()
            assert status["instanceUrl"] == server.url
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/services/data/", timeout=2)
    finally:
        org.close()


def test_unknown_command_is_one_line_error() -> None:
    result = subprocess.run(
        command("no-such-command"), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr == "leadsync: error: No such command 'no-such-command'.\n"


def test_listening_socket_is_tcp_so_connections_get_nodelay() -> None:
    # asyncio turns Nagle off only for sockets created with IPPROTO_TCP; without it every
    # response stalls ~40 ms on a delayed ACK.
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
