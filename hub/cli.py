"""The ``relayhub`` command: ``serve`` runs the hub, ``sim`` runs simulated relays."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hub import __version__, redaction
from hub.config import Config, ConfigError, load_config
from hub.hub import Hub

DEFAULT_CONFIG = Path("hub.toml")


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host", help="address to listen on (default from hub.toml: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--data", help="data folder for the database (default ./data)")
    serve.add_argument("--config", type=Path, help="a TOML file whose keys override ./hub.toml")


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
    return load_config(*files, overrides={"server": server} if server else None)


def _banner(config: Config) -> object:
    def on_started(hub: Hub) -> None:
        host = config.server.host
        origin = config.server.public_url or f"http://{host}:{config.server.port}"
        lines = [f"relayhub {__version__} is serving {origin} (data in {config.data_path}/)"]
        token = hub.admin_token
        if token is not None:
            lines += [
                "",
                "First start: the admin token is shown only this once. Keep it:",
                f"    {token}",
                "",
                "Next, in another terminal:",
                f"  1. three simulated phones:  .venv/bin/relayhub sim --hub {origin}"
                f" --token {token} --relays 3",
                "  2. send an SMS:",
                f"     curl -s {origin}/api/v1/sms/send -H 'Authorization: Bearer {token}'"
                " -H 'Content-Type: application/json'"
                """ -d '{"to": "+998901234567", "text": "Salom from relayhub"}'""",
                "  3. its status: curl -s"
                f" '{origin}/api/v1/messages/status?request_id=<request_id from step 2>'"
                f" -H 'Authorization: Bearer {token}'",
            ]
        else:
            lines.append("The admin token was printed on the first start of this data folder.")
        if hub.dashboard_token is not None:
            lines += ["", "Dashboard (this link signs you in for 12 hours):",
                      f"    {origin}/dashboard/#token={hub.dashboard_token}"]  # fmt: skip
        print("\n".join(lines), flush=True)

    return on_started


def serve(args: argparse.Namespace) -> int:
    from hub.app import create_app
    from hub.server import HubServer, uvicorn_config

    try:
        config = load_serve_config(args)
    except ConfigError as exc:
        print(f"relayhub: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = create_app(config, on_started=_banner(config), dashboard_link=True)  # type: ignore[arg-type]
    server = HubServer(uvicorn_config(app, config), app)
    redaction.install()  # after uvicorn_config: it installs uvicorn's own handlers
    server.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        from relay_sim.cli import main as sim_main

        return sim_main(argv[1:])
    if argv[:1] == ["account"]:
        from hub.cli_admin import account_main

        return account_main(argv[1:])
    if argv[:1] == ["token"]:
        from hub.cli_admin import token_main

        return token_main(argv[1:])
    if argv[:1] == ["listen"]:
        from hub.webhook_listen import main as listen_main

        return listen_main(argv[1:])
    parser = argparse.ArgumentParser(prog="relayhub", description="WebSocket-first SMS relay hub")
    parser.add_argument("--version", action="version", version=f"relayhub {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    sub.add_parser("sim", help="run simulated relays (see: relayhub sim --help)")
    sub.add_parser("account", help="operator: create, list, update accounts")
    sub.add_parser("token", help="create, list, revoke access tokens")
    sub.add_parser("listen", help="a local webhook receiver that checks signatures")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
