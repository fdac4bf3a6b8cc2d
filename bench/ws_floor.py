"""The floor for ``bench/scale.py``: bare ``websockets`` on both ends, run as processes.

    python -m bench.ws_floor serve PORT
    python -m bench.ws_floor clients URL COUNT [--summary-interval SECONDS]

``serve`` is an echo server (asyncio API, the hub's transport settings: no
compression, pings every 20 s, the same listen backlog); it prints
``listening`` once it accepts. ``clients`` opens COUNT sockets that stay idle
and prints ``clients k/COUNT connected`` every interval, like ``relayhub sim``
prints ``relays k/N online``. On SIGUSR1 it aborts every socket at once and
each reconnects with no delay, noting ``dropped N socket(s)`` — the same
trigger the simulator obeys, so the two storms differ only in what serves them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import InvalidHandshake

from relay_sim.backoff import Backoff

HOST: Final = "127.0.0.1"
BACKLOG: Final = 2048  # what hub/serving/server.py's bind() listens with
PING_INTERVAL_S: Final = 20  # the hub's default [relay] ping_interval_s


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def run_server(port: int) -> None:
    async with serve(
        _echo, HOST, port, compression=None, backlog=BACKLOG,
        ping_interval=PING_INTERVAL_S, ping_timeout=PING_INTERVAL_S,
    ):  # fmt: skip
        print("listening", flush=True)
        await asyncio.Future()  # until terminated


class Client:
    """One socket that reconnects whenever it ends: at once after ``drop``, else with backoff."""

    def __init__(self, url: str, rng: random.Random) -> None:
        self.url = url
        self.online = False
        self._ws: ClientConnection | None = None
        self._backoff = Backoff(rng)
        self._reconnect_at_once = False

    def drop(self) -> bool:
        if self._ws is None or not self.online:
            return False
        self.online = False
        self._reconnect_at_once = True
        self._ws.transport.abort()
        return True

    async def run(self) -> None:
        while True:
            try:
                async with connect(self.url, compression=None, open_timeout=10) as ws:
                    self._ws, self.online = ws, True
                    self._backoff.reset()
                    await ws.wait_closed()
            except (OSError, InvalidHandshake, TimeoutError):
                pass
            finally:
                self._ws, self.online = None, False
            if self._reconnect_at_once:
                self._reconnect_at_once = False
                continue
            await asyncio.sleep(self._backoff.next_delay())


async def run_clients(url: str, count: int, interval_s: float) -> None:
    rng = random.Random(1)
    clients = [Client(url, rng) for _ in range(count)]

    def storm() -> None:
        print(f"dropped {sum(c.drop() for c in clients)} socket(s)", flush=True)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, storm)
    tasks = [asyncio.create_task(client.run()) for client in clients]
    try:
        while True:
            print(f"clients {sum(c.online for c in clients)}/{count} connected", flush=True)
            await asyncio.sleep(interval_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_floor")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve")
    server.add_argument("port", type=int)
    clients = commands.add_parser("clients")
    clients.add_argument("url")
    clients.add_argument("count", type=int)
    clients.add_argument("--summary-interval", type=float, default=1.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "serve":
            asyncio.run(run_server(args.port))
        else:
            asyncio.run(run_clients(args.url, args.count, args.summary_interval))


if __name__ == "__main__":
    main()
