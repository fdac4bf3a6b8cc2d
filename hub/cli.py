"""The ``relayhub`` command: ``serve`` runs the hub, ``sim`` runs simulated relays,
``dashboard-link`` prints the dashboard sign-in link, ``migrate`` readies a
PostgreSQL database."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hub import __version__
from hub.clock import rfc3339
from hub.config import POSTGRES_SCHEMES, Config, ConfigError, load_config
from hub.devdocs.bodies import example_json
from hub.hub import Hub
from hub.serving import dashboard_link, private_files, redaction
from hub.serving.data_lock import DataFolderBusy, DataFolderLock, holder_of
from hub.store.open_store import migrate_ahead

DEFAULT_CONFIG = Path("hub.toml")
DATABASE_ENV = "RELAYHUB_DATABASE_URL"
log = logging.getLogger("hub.serve")


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host", help="address to listen on (default from hub.toml: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--data", help="data folder for the database (default ./data)")
    serve.add_argument("--config", type=Path, help="a TOML file whose keys override ./hub.toml")
    serve.add_argument("--database", help=DATABASE_HELP)


DATABASE_HELP = (
    f"a PostgreSQL URL (postgresql://…) instead of SQLite in the data folder;"
    f" also ${DATABASE_ENV} or [storage] url"
)


def load_serve_config(args: argparse.Namespace) -> Config:
    files = [p for p in (DEFAULT_CONFIG,) if p.is_file()]
    if args.config is not None:
        if not args.config.is_file():
            raise ConfigError(f"{args.config}: no such file")
        files.append(args.config)
    server: dict[str, object] = {}
    if args.host is not None:
        server["host"] = args.host
    if args.port is not None:
        server["port"] = args.port
    if args.data is not None:
        server["data_dir"] = args.data
    overrides: dict[str, object] = {"server": server} if server else {}
    database = args.database or os.environ.get(DATABASE_ENV)
    if database:
        overrides["storage"] = {"url": database}
    return load_config(*files, overrides=overrides or None)


def migrate_command(argv: list[str]) -> int:
    """Create or upgrade a PostgreSQL database's schema ahead of the hubs that will use it."""
    parser = argparse.ArgumentParser(
        prog="relayhub migrate",
        description="create or upgrade the hub's tables in a PostgreSQL database",
    )
    parser.add_argument("--database", help=f"the PostgreSQL URL (default ${DATABASE_ENV})")
    args = parser.parse_args(argv)
    url = args.database or os.environ.get(DATABASE_ENV, "")
    if not url.startswith(POSTGRES_SCHEMES):
        return _refuse(
            "give the PostgreSQL URL: relayhub migrate --database postgresql://user@host/db"
            f" (or set {DATABASE_ENV}); a SQLite data folder is migrated by relayhub serve"
        )
    try:
        was = migrate_ahead(url)
    except Exception as exc:  # the driver's error says what failed; show it, not a trace
        return _refuse(f"could not migrate {_without_password(url)}: {str(exc).strip()}")
    now = "created" if was == 0 else f"at version {was}, now current"
    print(f"{_without_password(url)}: schema {now}", flush=True)
    return 0


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _banner(config: Config, origin: str) -> Callable[[Hub], None]:
    def on_listening(hub: Hub) -> None:
        data = config.data_path
        # The sign-in link stays out of stdout: a service's stdout often lands in a shared journal.
        lines = [
            f"relayhub {__version__} is serving {origin} (data in {data}/)",
            f"  developer docs:  {origin}/docs",
            f"  dashboard:       {origin}/dashboard/ (sign in with the link that"
            f" `.venv/bin/relayhub dashboard-link --data {data}` prints;"
            f" it is kept in {data / dashboard_link.LINK_FILE}, readable only by you)",
        ]
        token = hub.admin_token
        if token is not None:
            bearer = '-H "Authorization: Bearer $RELAYHUB_TOKEN"'
            if token == os.environ.get("RELAYHUB_ADMIN_TOKEN"):
                # The operator chose it, so knows it: not echoed to a possibly shared stdout.
                first = ["First start: the admin token is the one RELAYHUB_ADMIN_TOKEN holds."]
                export = "export RELAYHUB_TOKEN=$RELAYHUB_ADMIN_TOKEN"
            else:
                first = ["First start: the admin token is shown only this once. Keep it:"]
                first.append(f"    {token}")
                export = f"export RELAYHUB_TOKEN={token}"
            lines += [
                "",
                *first,
                "",
                "Next, in another terminal:",
                f"     {export}",
                f"  1. three simulated phones:  .venv/bin/relayhub sim --hub {origin}"
                " --relays 3 --show-texts",
                "  2. send an SMS:",
                f"     curl -s {origin}/api/v1/sms/send {bearer}"
                " -H 'Content-Type: application/json'"
                f" -d '{example_json('send_sms')}'",
                "  3. its status: curl -s"
                f" '{origin}/api/v1/messages/status?request_id=<request_id from step 2>' {bearer}",
                f"  The README and {origin}/docs go on from there: OTP codes, webhooks, examples.",
            ]
        else:
            lines.append("The admin token was printed on the first start of this data folder.")
        print("\n".join(lines), flush=True)

    return on_listening


class StartRefused(Exception):
    """A start stopped before it opened anything; the message says what to change."""


def _refuse(message: str) -> int:
    print(f"relayhub: {message}", file=sys.stderr)
    return 1


def _busy_message(busy: DataFolderBusy) -> str:
    holder = busy.holder
    who = "another relayhub"
    if holder.pid is not None:
        who += f" (pid {holder.pid}" + (f", serving {holder.address})" if holder.address else ")")
    return (
        f"the data folder {busy.folder}/ is in use by {who}. One data folder serves one hub:"
        " stop that one first, or give this one its own folder and port,"
        " e.g. --data data2 --port 8081 (make run DATA=data2 PORT=8081)."
    )


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is opened (raises ``StartRefused``)."""
    from hub.serving.server import bind

    try:
        return bind(host, port)
    except OSError as exc:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            suggestion = port + 1 if port < 65535 else 8081
            raise StartRefused(
                f"port {port} is already in use on {host} (another hub or program listens"
                f" there). Pick a free port with --port {suggestion}"
                f" (make run PORT={suggestion})."
            ) from None
        raise StartRefused(
            f"cannot listen on {where}: {exc.strerror or exc}. Check --host and --port."
        ) from None


def _make_private(folder: Path) -> None:
    """Close a data folder an older version left readable by other local users."""
    try:
        for change in private_files.tighten(folder):
            log.warning("%s (the data folder is the hub's user's alone)", change)
    except OSError as exc:
        log.warning("could not make %s/ private to this user: %s", folder, exc)


def serve(args: argparse.Namespace) -> int:
    from hub.app import create_app
    from hub.serving.server import HubServer, uvicorn_config

    try:
        config = load_serve_config(args)
    except ConfigError as exc:
        print(f"relayhub: {exc}", file=sys.stderr)
        return 2
    # Whatever the hub or SQLite creates is its user's alone (the files are also
    # created with their modes: this is the second lock, not the only one).
    os.umask(os.umask(0) | 0o077)
    # Order matters: the data folder, then the port, and only then the database,
    # so a start that cannot serve leaves the running hub and its data untouched.
    try:
        lock = DataFolderLock.acquire(config.data_path)
    except DataFolderBusy as busy:
        return _refuse(_busy_message(busy))
    except OSError as exc:
        not_a_folder = config.data_path.exists() and not config.data_path.is_dir()
        return _refuse(
            f"cannot use {config.data_path}/ as the data folder:"
            f" {'it is not a folder' if not_a_folder else exc.strerror or exc}."
            " Give a folder this user may write with --data (make run DATA=…)."
        )
    try:
        try:
            sock = _listen(config.server.host, config.server.port)
        except StartRefused as exc:
            return _refuse(str(exc))
        port = sock.getsockname()[1]
        origin = dashboard_link.public_origin(config.server, port)
        lock.describe(origin)
        logging.basicConfig(
            level=config.server.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        _make_private(config.data_path)
        app = create_app(config, dashboard_origin=origin)
        server = HubServer(
            uvicorn_config(app, config, port=port), app, on_listening=_banner(config, origin)
        )
        redaction.install()  # after uvicorn_config: it installs uvicorn's own handlers
        with sock:
            server.run(sockets=[sock])
        return 0 if server.started else 1
    finally:
        lock.release()


def dashboard_link_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="relayhub dashboard-link",
        description="print the dashboard sign-in link of the hub serving a data folder",
    )
    parser.add_argument("--data", help="the hub's data folder (default ./data)")
    parser.add_argument("--config", type=Path, help="a TOML file whose keys override ./hub.toml")
    args = parser.parse_args(argv)
    args.host = args.port = args.database = None  # dashboard-link reads the data folder only
    try:
        config = load_serve_config(args)
    except ConfigError as exc:
        print(f"relayhub: {exc}", file=sys.stderr)
        return 2
    data = config.data_path
    holder = holder_of(data)
    if holder is None:
        return _refuse(
            f"no hub is serving {data}/ now. Start one (relayhub serve --data {data},"
            f" or make run) and it writes a sign-in link to {data / dashboard_link.LINK_FILE}."
        )
    saved = dashboard_link.read(data / dashboard_link.LINK_FILE)
    if saved is None or saved.expires_at <= datetime.now(UTC):
        return _refuse(
            f"the hub serving {data}/ (pid {holder.pid}) has no valid link on file; it"
            f" writes a new one within {dashboard_link.CHECK_EVERY_S:.0f} s. Run this again then."
        )
    print(saved.url)
    print(f"(signs in until {rfc3339(saved.expires_at)})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        from relay_sim.cli import main as sim_main

        return sim_main(argv[1:])
    if argv[:1] == ["account"]:
        from hub.cli_admin import account_main

        return account_main(argv[1:])
    if argv[:1] == ["migrate"]:
        return migrate_command(argv[1:])
    if argv[:1] == ["dashboard-link"]:
        return dashboard_link_command(argv[1:])
    if argv[:1] == ["token"]:
        from hub.cli_admin import token_main

        return token_main(argv[1:])
    if argv[:1] == ["listen"]:
        from hub.webhooks.listen import main as listen_main

        return listen_main(argv[1:])
    parser = argparse.ArgumentParser(prog="relayhub", description="WebSocket-first SMS relay hub")
    parser.add_argument("--version", action="version", version=f"relayhub {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    sub.add_parser("sim", help="run simulated relays (see: relayhub sim --help)")
    sub.add_parser("account", help="operator: create, list, update accounts")
    sub.add_parser("token", help="create, list, revoke access tokens")
    sub.add_parser("listen", help="a local webhook receiver that checks signatures")
    sub.add_parser("migrate", help="create or upgrade a PostgreSQL database's tables")
    sub.add_parser("dashboard-link", help="print the dashboard sign-in link (on the hub's machine)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
