"""``make bench``: every scenario, several runs, medians beside their floors.

Each run measures the floors and the hub back to back, so a ratio compares
two figures taken under the same noise; the reported ratio is the median of
the per-run ratios. Results go to ``bench/results.json`` (all figures, with
each run's values as the spread) and to the table between the markers in
``BENCHMARKS.md``.

    python -m bench.run [--runs N] [--only NAME ...] [--record]

A partial run (``--only``) prints and records nothing, unless ``--record``:
then its figures replace those of the same names in ``bench/results.json``
(the others stay, and ``partial`` says which scenarios were measured when).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cluster, cluster_death, floors, harness, otp_pairs, scale, spine, throughput

RESULTS = Path(__file__).with_name("results.json")
BENCHMARKS = Path(__file__).parent.parent / "BENCHMARKS.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

Figures = dict[str, float]


async def _floors() -> Figures:
    bare = await floors.bare_starlette(samples=200, clients=spine.CLIENTS, seconds=spine.SECONDS)
    echo = await floors.websocket_echo(samples=200)
    commit = floors.sqlite_commit(samples=200)
    rows = throughput.sqlite_floor()
    return {
        "push_floor_p50_ms": bare["post_p50_ms"],
        "push_floor_p99_ms": bare["post_p99_ms"],
        "push_httpx_floor_p50_ms": bare["post_httpx_p50_ms"],
        "accept_floor_rps": bare["accept_rps"],
        **echo,
        **commit,
        **rows,
    }


# A derived figure → the figures it is computed from (so a partial run knows
# which scenarios a ratio belongs to).
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "push_floor_with_disk_p50_ms": ("push_floor_p50_ms", "sqlite_commit_p50_ms"),
    "push_ratio_to_floor_with_disk": ("push_p50_ms", "sqlite_commit_p50_ms"),
    "pg_push_floor_with_disk_p50_ms": ("push_floor_p50_ms", "ws_echo_p50_ms", "pg_fsync_ops_per_s"),
    "pg_push_ratio_to_floor_with_disk": ("pg_push_p50_ms", "pg_push_floor_with_disk_p50_ms"),
}


def _ratios(f: Figures) -> Figures:
    """Each hub figure over its floor, from one run's figures."""
    out: Figures = {}

    def ratio(name: str, hub: str, floor: str) -> None:
        DERIVED_FROM[name] = (hub, floor)
        if hub in f and floor in f and f[floor]:
            out[name] = f[hub] / f[floor]

    ratio("accept_ratio_to_floor", "accept_rps", "accept_floor_rps")
    ratio("accept_with_relays_ratio_to_floor", "accept_with_relays_rps", "accept_floor_rps")
    ratio("push_ratio_to_floor", "push_p50_ms", "push_floor_p50_ms")
    ratio("push_httpx_ratio_to_floor", "push_httpx_p50_ms", "push_httpx_floor_p50_ms")
    if {"push_p50_ms", "push_floor_p50_ms", "ws_echo_p50_ms", "sqlite_commit_p50_ms"} <= f.keys():
        # What a durable push cannot go below on this machine: the bare POST,
        # the socket hop and the disk's flush.
        out["push_floor_with_disk_p50_ms"] = (
            f["push_floor_p50_ms"] + f["ws_echo_p50_ms"] + f["sqlite_commit_p50_ms"]
        )
        out["push_ratio_to_floor_with_disk"] = f["push_p50_ms"] / out["push_floor_with_disk_p50_ms"]
    ratio("lifecycle_ratio_to_floor", "lifecycle_mps", "sqlite_floor_rows_per_s")
    ratio("storm_ratio_to_floor", "storm_s", "storm_floor_s")
    ratio("rss_per_relay_ratio_to_floor", "rss_per_relay_kib", "idle_floor_rss_per_conn_kib")
    # Issue 18: PostgreSQL against SQLite, two nodes against one, the floors.
    ratio("pg_accept_ratio_to_sqlite", "pg_accept_rps", "accept_rps")
    ratio("pg_lifecycle_ratio_to_sqlite", "pg_lifecycle_mps", "lifecycle_mps")
    ratio("pg2_accept_ratio_to_pg", "pg2_accept_rps", "pg_accept_rps")
    ratio("pg2_lifecycle_ratio_to_pg", "pg2_lifecycle_mps", "pg_lifecycle_mps")
    ratio("pg_lifecycle_ratio_to_claim_floor", "pg_lifecycle_mps", "pg_claim_rows_per_s")
    if {"pg_push_p50_ms", "push_floor_p50_ms", "ws_echo_p50_ms", "pg_fsync_ops_per_s"} <= f.keys():
        # The same floor as SQLite's push, with PostgreSQL's flush for the disk's.
        out["pg_push_floor_with_disk_p50_ms"] = (
            f["push_floor_p50_ms"] + f["ws_echo_p50_ms"] + 1000 / f["pg_fsync_ops_per_s"]
        )
        out["pg_push_ratio_to_floor_with_disk"] = (
            f["pg_push_p50_ms"] / out["pg_push_floor_with_disk_p50_ms"]
        )
    return out


@dataclass(frozen=True)
class Scenario:
    name: str
    measure: Callable[[], Awaitable[Figures]]


SCENARIOS = [
    Scenario("floors", _floors),
    Scenario("accept_and_push", spine.accept_and_push),
    Scenario("lifecycle", throughput.lifecycle),
    Scenario("otp", otp_pairs.otp_pairs),
    Scenario("webhooks", throughput.webhooks),
    Scenario("idle_scale", scale.idle_scale),
    Scenario("reconnect_storm", scale.reconnect_storm),
    # Issue 18: each starts its own private PostgreSQL (durability on).
    Scenario("pg_floors", cluster.pg_floors_scenario),
    Scenario("pg_single", cluster.pg_single),
    Scenario("pg_cluster", cluster.pg_cluster),
    Scenario("node_death", cluster.node_death),
]
CLUSTER_SCENARIOS = ["pg_floors", "pg_single", "pg_cluster", "node_death"]

# What issue 9 asks of each figure: (figure, comparison, bound, how it reads).
TARGETS = [
    ("push_httpx_ratio_to_floor", "<=", 1.5, "push p50 at most 1.5 times the bare POST (httpx)"),
    ("push_ratio_to_floor", "<=", 1.5, "push p50 at most 1.5 times the bare POST (raw client)"),
    ("push_p99_ms", "<=", 10.0, "push p99 at most 10 ms at light load"),
    ("accept_ratio_to_floor", ">=", 0.5, "accept at least half the bare-Starlette floor"),
    ("lifecycle_mps", ">=", 1500.0, "lifecycle at least 1,500 delivered/s"),
    ("rss_per_relay_kib", "<=", 40.0, "an idle relay at most 40 KiB of hub RSS"),
    ("storm_ratio_to_floor", "<=", 2.0, "reconnect storm at most twice its floor"),
]

# What issue 18 asks (same run, 2 cores, loopback).
CLUSTER_TARGETS = [
    ("cross_node_push_extra_p50_ms", "<=", 2.0, "cross-node push p50 at most +2 ms"),
    ("cross_node_push_extra_p99_ms", "<=", 10.0, "cross-node push p99 at most +10 ms"),
    ("pg_push_p99_ms", "<=", 10.0, "PostgreSQL node: push p99 at most 10 ms"),
    ("pg_accept_ratio_to_sqlite", ">=", 0.7, "PG node: accept at least 0.7 x SQLite's"),
    ("pg_lifecycle_ratio_to_sqlite", ">=", 0.7, "PG node: lifecycle at least 0.7 x SQLite's"),
    ("pg2_accept_ratio_to_pg", ">=", 0.9, "2 nodes: accept at least 0.9 x one node's"),
    ("pg2_lifecycle_ratio_to_pg", ">=", 0.9, "2 nodes: lifecycle at least 0.9 x one node's"),
    ("rehome_s", "<=", 4.0, "killed node's relays online elsewhere within backoff (2 s) + 2 s"),
    ("node_death_detect_s", "<=", cluster_death.LEASE_S + 1, "death detected within lease + 1 s"),
]


Report = dict[str, Any]


async def run(runs: int, only: set[str]) -> Report:
    per_run: list[Figures] = []
    missing: dict[str, str] = {}
    origin: dict[str, set[str]] = {}  # figure → the scenarios it comes from
    for index in range(runs):
        figures: Figures = {}
        for scenario in SCENARIOS:
            if only and scenario.name not in only:
                continue
            began = time.perf_counter()
            harness.MISSING.clear()
            measured = await scenario.measure()
            figures.update(measured)
            origin.update({name: {scenario.name} for name in measured})
            missing.update(harness.MISSING)
            print(f"run {index + 1}/{runs}: {scenario.name} in {time.perf_counter() - began:.0f} s")
        derived = _ratios(figures)
        figures.update(derived)
        for name in derived:
            origin[name] = set().union(*(origin.get(i, set()) for i in DERIVED_FROM[name]))
        per_run.append(figures)
    names = sorted({name for figures in per_run for name in figures})
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "make bench",
        "machine": _machine(),
        "runs": runs,
        "figures": {
            n: round(statistics.median([f[n] for f in per_run if n in f]), 3) for n in names
        },
        "spread": {n: [round(f[n], 3) for f in per_run if n in f] for n in names},
        # Figures a scenario could not measure on this machine or branch, and why.
        "missing": {n: why for n, why in missing.items() if n not in names},
        "origin": {n: sorted(origin[n]) for n in names},
    }


def _machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({model}), Linux {platform.release()},"
        f" Python {platform.python_version()}"
    )


def _table(report: Report) -> str:
    figures: dict[str, float] = report["figures"]
    spread: dict[str, list[float]] = report["spread"]
    lines = [
        f"Measured {report['date']} on {report['machine']}, with `{report['command']}`;"
        f" median of {report['runs']} runs (spread: every run's value).",
        "",
        "| figure | median | spread |",
        "|---|---:|---|",
    ]
    for name, value in figures.items():
        values = ", ".join(f"{v:g}" for v in spread[name])
        lines.append(f"| `{name}` | {value:g} | {values} |")
    for name, why in report.get("missing", {}).items():
        lines.append(f"| `{name}` | — | not measured: {why} |")
    for issue, targets in (("issue 9", TARGETS), ("issue 18", CLUSTER_TARGETS)):
        lines += ["", f"| target ({issue}) | figure | met |", "|---|---:|---|"]
        for name, op, bound, text in targets:
            if name not in figures:
                continue
            value = figures[name]
            met = value <= bound if op == "<=" else value >= bound
            lines.append(f"| {text} | {value:g} | {'yes' if met else 'no'} |")
    for part in report.get("partial", []):
        lines.append(
            f"\n`{' '.join(part['scenarios'])}` measured {part['date']} with `{part['command']}`"
            f" (median of {part['runs']}); their ratios to other scenarios come from that run,"
            " whose own figures for those (not recorded above) were: "
            + ", ".join(f"`{n}` {v:g}" for n, v in part.get("baseline", {}).items())
        )
    return "\n".join(lines)


def merge(report: Report, scenarios: list[str], baseline: list[str]) -> Report:
    """The recorded results with this partial run's figures in place of theirs.

    Figures of the ``baseline`` scenarios (measured only so that a ratio comes
    from one run, e.g. SQLite's accept beside PostgreSQL's) do not replace the
    recorded ones: they are kept beside the note of this partial run.
    """
    recorded: Report = json.loads(RESULTS.read_text())
    mine = {n for n, came in report["origin"].items() if set(came) - set(baseline)}
    for key in ("figures", "spread"):
        ours = {n: v for n, v in report[key].items() if n in mine}
        recorded[key] = dict(sorted({**recorded[key], **ours}.items()))
    missing = {n: why for n, why in recorded.get("missing", {}).items() if n not in mine}
    recorded["missing"] = {**missing, **report["missing"]}
    measured = [n for n in scenarios if n not in baseline]
    used = {i for n in mine for i in DERIVED_FROM.get(n, ())}
    earlier = [p for p in recorded.get("partial", []) if set(p["scenarios"]) - set(measured)]
    this = {"scenarios": measured, "date": report["date"], "runs": report["runs"],
            "command": report["command"],
            "baseline": {n: report["figures"][n] for n in sorted(used - mine)
                         if n in report["figures"]}}  # fmt: skip
    recorded["partial"] = [*earlier, this]
    return recorded


def write(report: Report) -> None:
    report = {k: v for k, v in report.items() if k != "origin"}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    text = BENCHMARKS.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    BENCHMARKS.write_text(f"{head}{START}\n{_table(report)}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=[], choices=[s.name for s in SCENARIOS])
    parser.add_argument(
        "--record", action="store_true", help="merge a partial run's figures into the results"
    )
    parser.add_argument(
        "--baseline", nargs="*", default=[], choices=[s.name for s in SCENARIOS],
        help="with --record: scenarios measured for same-run ratios only, not recorded",
    )  # fmt: skip
    args = parser.parse_args()
    report = asyncio.run(run(args.runs, set(args.only)))
    if not args.only:
        write(report)
    elif args.record:  # a partial run replaces only its own figures
        report["command"] = "python -m bench.run " + " ".join(sys.argv[1:])
        only = [s.name for s in SCENARIOS if s.name in args.only]
        write(merge(report, only, args.baseline))
    width = max(map(len, report["figures"]))
    for name, value in report["figures"].items():
        print(f"{name:<{width}}  {value:g}")
    for name, why in report["missing"].items():
        print(f"{name:<{width}}  not measured: {why}")


if __name__ == "__main__":
    main()
