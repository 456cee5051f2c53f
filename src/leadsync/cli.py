"""The `leadsync` command: a thin Typer shell over the library.

Every failure is one line on stderr and a non-zero exit code, never a traceback or a usage
box: scripts and people read the same message.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
import typer.core

# Documented, local-only demo credentials of the emulated org (design notes §4).
DEMO_USERS = ("sync@example.com", "admin@example.com")
DEMO_PASSWORD = "password"
DEMO_CLIENT_ID = "leadsync"
DEMO_CLIENT_SECRET = "leadsync-secret"


def fail(command: str, message: str, code: int = 1) -> NoReturn:
    typer.echo(f"leadsync {command}: error: {message}", err=True)
    raise typer.Exit(code)


def _usage_error(where: str, error: Exception) -> NoReturn:
    formatter = getattr(error, "format_message", None)
    text = formatter() if callable(formatter) else str(error)
    typer.echo(f"{where}: error: {_one_line_text(text)}", err=True)
    raise typer.Exit(2)


class OneLineErrors(typer.core.TyperCommand):
    """Reports a bad option as one line (`leadsync NAME: error: ...`), exit code 2."""

    # `ctx` is typer's vendored click Context, which typer does not export under a public name.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as error:
            # Typer vendors click; its usage errors derive from TyperException.
            _usage_error(f"leadsync {self.name}", error)


class OneLineErrorsGroup(typer.core.TyperGroup):
    """The same for the top level: an unknown command or option is one line, exit code 2."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                raise  # bare `leadsync` prints its help, as it should
            _usage_error("leadsync", error)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as error:
            _usage_error("leadsync", error)


app = typer.Typer(
    cls=OneLineErrorsGroup,
    no_args_is_help=True,
    add_completion=False,
    help="leadsync: a lead database in two-way sync with Salesforce.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """leadsync: a lead database in two-way sync with Salesforce."""


def _register_commands() -> None:
    # The command groups live in their own modules; they share this app and its one-line errors.
    from . import cli_person, cli_setup, cli_sync

    cli_sync.register(app, OneLineErrors)
    cli_setup.register(app, OneLineErrors)
    app.add_typer(cli_person.build(OneLineErrors, OneLineErrorsGroup), name="person")


_register_commands()


@app.command(cls=OneLineErrors)
def emulator(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (local only by default)."),
    port: int = typer.Option(8484, help="TCP port to listen on (0 = any free port)."),
    db: str | None = typer.Option(None, help="SQLite file of the org (default: in memory)."),
    seed: str = typer.Option("demo", help="Initial data: demo or empty."),
    records: int | None = typer.Option(None, help="Number of demo leads (default 200)."),
    org_file: str | None = typer.Option(None, help="Org definition TOML (default: demo org)."),
    api_limit: int | None = typer.Option(None, help="Daily API request limit."),
    session_lifetime: int | None = typer.Option(None, help="Access token lifetime in seconds."),
    seed_age: int = typer.Option(
        0, help="Stamp the seeded records this many seconds ago (an org idle since)."
    ),
) -> None:
    """Serve a local Salesforce org (REST, SOAP, Bulk 2.0, OAuth) until Ctrl+C."""
    from .emulator.orgfile import OrgFileError
    from .emulator.seed import SEED_KINDS, SeedError
    from .emulator.server import OrgOptions, base_url, build_org, listen, serve

    if seed not in SEED_KINDS:
        fail("emulator", f"unknown --seed {seed!r}; choose one of: {', '.join(SEED_KINDS)}", 2)
    if records is not None and seed != "demo":
        fail("emulator", "--records only applies to --seed demo", 2)
    if not 0 <= port <= 65535:
        fail("emulator", f"--port must be between 0 and 65535, got {port}", 2)
    try:
        sock = listen(host, port)
    except OSError as exc:
        fail("emulator", f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    options = OrgOptions(
        db=db,
        org_file=org_file,
        seed=seed,
        records=records,
        api_limit=api_limit,
        session_lifetime=session_lifetime,
        seed_age=seed_age,
    )
    try:
        org, summary = build_org(options)
    except (OrgFileError, SeedError, ValueError, OSError) as exc:
        sock.close()
        fail("emulator", _one_line(exc))
    except Exception as exc:  # a corrupt --db file, say: still one line, no traceback
        sock.close()
        fail("emulator", f"cannot open the org: {_one_line(exc)}")
    url = base_url(sock)
    users = [user.username for user in org.definition.users]
    _banner(
        url,
        org.definition.name,
        db,
        summary.describe(),
        host,
        demo_credentials=org_file is None,
        users=users,
    )
    try:
        serve(org, sock)
    finally:
        org.close()
        sock.close()
    typer.echo("leadsync emulator: stopped")


@app.command("emulator-token", cls=OneLineErrors)
def emulator_token(
    url: str = typer.Option("http://127.0.0.1:8484", help="The running emulator."),
    username: str = typer.Option("sync@example.com", help="The user to act as."),
    password: str = typer.Option(DEMO_PASSWORD, help="That user's password."),
    client_id: str = typer.Option(DEMO_CLIENT_ID, help="OAuth client id."),
    client_secret: str = typer.Option(DEMO_CLIENT_SECRET, help="OAuth client secret."),
) -> None:
    """Mint a refresh token on a running emulator (authorization-code flow), for clients such
    as tap-salesforce that log in only with a refresh token. Prints the token alone."""
    from .emulator.oauth_flow import OAuthFlowError, mint_refresh_token

    try:
        token = mint_refresh_token(url, username, password, client_id, client_secret)
    except OAuthFlowError as exc:
        fail("emulator-token", _one_line(exc))
    typer.echo(token)


@app.command(cls=OneLineErrors)
def demo() -> None:
    """A short tour on an embedded emulator: what leadsync's Salesforce connector sees and does."""
    from .demo import run
    from .errors import LeadsyncError

    try:
        run()
    except LeadsyncError as exc:
        fail("demo", _one_line(exc))
    except Exception as exc:  # still one line, never a traceback
        fail("demo", f"unexpected {type(exc).__name__}: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    return _one_line_text(str(exc)) or type(exc).__name__


def _one_line_text(text: str) -> str:
    return " ".join(text.split())


def _banner(
    url: str,
    name: str,
    db: str | None,
    seeded: str,
    host: str,
    *,
    demo_credentials: bool,
    users: list[str],
) -> None:
    lines = [
        f"leadsync emulator: {name} at {url}",
        f"  data:        {db or 'in memory (lost on exit)'}; {seeded}",
        f"  login:       {url}/services/oauth2/token  (SOAP: {url}/services/Soap/u/62.0)",
    ]
    if demo_credentials:
        lines += [
            f"  users:       {' / '.join(DEMO_USERS)}, password {DEMO_PASSWORD!r}"
            "  (insecure demo credentials)",
            f"  oauth:       client id {DEMO_CLIENT_ID!r}, secret {DEMO_CLIENT_SECRET!r}",
        ]
    else:
        lines.append(f"  users:       {', '.join(users)} (passwords as in the org file)")
    lines += [
        f"  admin:       {url}/_emulator/status  (local only, no auth)",
        "  stop:        press Ctrl+C",
    ]
    if host not in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"  warning:     listening on {host}; anyone who can reach it can log in")
    typer.echo("\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    app()
