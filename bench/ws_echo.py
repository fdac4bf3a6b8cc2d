"""A bare ``websockets`` echo server: the socket floor for push latency.

``python -m bench.ws_echo --port N`` prints ``echo server ready`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import ServerConnection, serve


async def _echo(ws: ServerConnection) -> None:
    async for frame in ws:
        await ws.send(frame)


async def _main(port: int) -> None:
    async with serve(_echo, "127.0.0.1", port, compression=None):
        print("echo server ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(_main(parser.parse_args().port))
