"""``relayhub sim``: run simulated relays against a hub until Ctrl-C.

    relayhub sim --hub URL --token TOKEN --relays N [--profile ideal|realistic|flaky|stalled]
                 [--state FILE] [--fresh] [--seed S] [--summary-interval SECONDS] [--show-texts]

The hub's own CLI calls ``main`` with the arguments after ``sim``;
``python -m relay_sim`` does the same. ``SIGUSR1`` drops every relay's socket
at once and lets them all reconnect with no backoff delay (a reconnect storm,
for benchmarks); a ``dropped N socket(s)`` line says it happened.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TextIO

import httpx

from relay_sim.fleet import Fleet, FleetError
from relay_sim.pairing import PairingError
from relay_sim.profiles import PROFILES
from relay_sim.state import StateFileError

TOKEN_VARIABLE = "RELAYHUB_TOKEN"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relayhub sim",
        description="Run simulated Android relays against a hub; Ctrl-C stops them."
        " Devices are saved per hub in the state file and reused by later runs.",
    )
    parser.add_argument(
        "--hub",
        default="http://127.0.0.1:8080",
        help="the hub's base URL; the devices saved for this hub are used (default: %(default)s)",
    )
    parser.add_argument(
        "--token",
        help="access token of the hub's account, with devices.manage to pair new devices and"
        " devices.read to check the saved ones; not needed when the state file already holds"
        f" enough devices for this hub (default: ${TOKEN_VARIABLE})",
    )
    parser.add_argument(
        "--relays",
        type=_positive_int,
        default=1,
        help="how many relays to run (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="ideal",
        help="how fast and how badly the phones behave (default: %(default)s)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(".relay_sim.json"),
        metavar="FILE",
        help="where paired devices and their report seq are kept between runs"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="forget the devices saved for this hub and pair new ones; needs --token"
        " (default: off)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed for reproducible fault injection (default: none, a new draw each run)",
    )
    parser.add_argument(
        "--summary-interval",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="how often the summary line is shown (default: %(default)s)",
    )
    parser.add_argument(
        "--show-texts",
        action="store_true",
        help="print every SMS a relay is handed, to see an OTP's code while testing (default: off)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status = SummaryLine(sys.stdout)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    fleet = Fleet(
        hub_url=args.hub,
        token=args.token or os.environ.get(TOKEN_VARIABLE) or None,
        count=args.relays,
        profile=PROFILES[args.profile],
        state_file=args.state,
        seed=args.seed,
        summary_interval_s=args.summary_interval,
        on_note=status.note,
        fresh=args.fresh,
        on_job=(lambda relay, send: status.note(f"{relay} → {send.to}: {send.text}"))
        if args.show_texts
        else None,
    )
    try:
        asyncio.run(_run(fleet, status))
    except KeyboardInterrupt:
        return 0  # the relays were stopped while asyncio.run unwound
    except (FleetError, PairingError, StateFileError) as exc:
        print(f"relayhub sim: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"relayhub sim: cannot reach the hub at {args.hub}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the state file could not be written
        print(f"relayhub sim: {exc}", file=sys.stderr)
        return 1
    finally:
        status.end()
    return 0


async def _run(fleet: Fleet, status: SummaryLine) -> None:
    def storm() -> None:
        status.note(f"dropped {fleet.drop_all()} socket(s), reconnecting at once")

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, storm)
    await fleet.run(status.show)


class SummaryLine:
    """Show the live summary: rewritten in place on a terminal, one line each time otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._in_place = stream.isatty()
        self._width = 0

    def show(self, line: str) -> None:
        if self._in_place:
            # Pad over the previous line, which may have been longer.
            self._stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def note(self, line: str) -> None:
        """A line of its own, above the summary (which is shown again on its next update)."""
        if self._in_place and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self._stream.write(line + "\n")
        self._stream.flush()

    def end(self) -> None:
        """Leave the cursor on a fresh line."""
        if self._in_place and self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value
