"""Tests for ``relay_sim/cli.py``: arguments, the summary line, and a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
from pathlib import Path

import pytest

from relay_sim.cli import SummaryLine, build_parser, main
from relay_sim.state import save_devices
from tests.relay_sim.stub_hub import StubHub

PROJECT = Path(__file__).resolve().parents[2]


def test_cli_defaults() -> None:
    args = build_parser().parse_args([])

    assert args.hub == "http://127.0.0.1:8080"
    assert (args.relays, args.profile, args.seed) == (1, "ideal", None)
    assert args.state == Path(".relay_sim.json")
    assert args.summary_interval == 1.0


def test_cli_help_shows_the_default_of_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]

    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])

    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert all("(default: " in (action.help or "") for action in options)
    for expected in (
        "(default: http://127.0.0.1:8080)",
        "(default: $RELAYHUB_TOKEN)",
        "(default: 1)",
        "(default: ideal)",
        "(default: .relay_sim.json)",
        "(default: 1.0)",
    ):
        assert expected in shown


@pytest.mark.parametrize(
    "argv", [["--relays", "0"], ["--profile", "perfect"], ["--summary-interval", "0"]]
)
def test_cli_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)

    assert caught.value.code == 2


def test_cli_without_a_token_explains_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RELAYHUB_TOKEN", raising=False)

    status = main(["--state", str(tmp_path / "state.json"), "--relays", "2"])

    assert status == 1
    error = capsys.readouterr().err
    assert "--token" in error and "RELAYHUB_TOKEN" in error


def test_summary_line_prints_plain_lines_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    line = SummaryLine(stream)

    line.show("relays 0/1 online")
    line.show("relays 1/1 online")
    line.end()

    assert stream.getvalue() == "relays 0/1 online\nrelays 1/1 online\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_summary_line_rewrites_itself_on_a_terminal() -> None:
    stream = Terminal()
    line = SummaryLine(stream)

    line.show("relays 0/12 online")
    line.show("relays 1/1 online")
    line.end()

    assert stream.getvalue() == "\rrelays 0/12 online\rrelays 1/1 online \n"


async def test_cli_exits_cleanly_on_ctrl_c(hub: StubHub, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    save_devices(state, [hub.device()])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay_sim",
        "--state",
        str(state),
        "--hub",
        hub.base_url,
        cwd=PROJECT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first_line = await asyncio.wait_for(process.stdout.readline(), 10)
    await hub.wait_until(lambda: bool(hub.hellos), timeout=10)

    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), 10)

    assert first_line.startswith(b"relays ")
    assert process.returncode == 0, stderr.decode()
    assert stderr == b""


async def test_cli_drops_every_socket_on_sigusr1_and_reconnects(
    hub: StubHub, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    save_devices(state, [hub.device()])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relay_sim", "--state", str(state), "--summary-interval", "0.05",
        "--hub", hub.base_url,
        cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        await _line_with(process.stdout, b"relays 1/1 online")

        process.send_signal(signal.SIGUSR1)
        dropped = await _line_with(process.stdout, b"dropped")
        await _line_with(process.stdout, b"relays 1/1 online")
        await hub.wait_until(lambda: len(hub.hellos) == 2, timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)

    assert dropped == b"dropped 1 socket(s), reconnecting at once\n"
    assert process.returncode == 0, stderr.decode()


async def _line_with(stream: asyncio.StreamReader, part: bytes) -> bytes:
    async with asyncio.timeout(10):
        while part not in (line := await stream.readline()):
            assert line, "the simulator exited"
    return line


def test_summary_line_puts_a_note_on_its_own_line_above_the_summary() -> None:
    stream = Terminal()
    line = SummaryLine(stream)

    line.show("relays 1/1 online")
    line.note("Sim relay 1 → +998901234567: code 482913")
    line.show("relays 1/1 online")

    assert stream.getvalue() == (
        "\rrelays 1/1 online\r                 \rSim relay 1 → +998901234567: code 482913\n"
        "\rrelays 1/1 online"
    )


def test_cli_takes_show_texts() -> None:
    assert build_parser().parse_args(["--show-texts"]).show_texts is True
    assert build_parser().parse_args([]).show_texts is False
