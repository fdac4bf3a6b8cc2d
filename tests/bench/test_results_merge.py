"""``bench.run --only … --record``: a partial run replaces only its own figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import run

RECORDED = {
    "date": "2026-11-27", "command": "make bench", "machine": "m", "runs": 3,
    "figures": {"accept_rps": 3208.0, "accept_floor_rps": 21459.0, "accept_ratio_to_floor": 0.135},
    "spread": {"accept_rps": [3208.0], "accept_floor_rps": [21459.0],
               "accept_ratio_to_floor": [0.135]},
}  # fmt: skip


def _partial(figures: dict[str, float], origin: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "date": "2026-12-07", "command": "bench-cluster", "machine": "m", "runs": 3,
        "figures": figures, "spread": {n: [v] for n, v in figures.items()},
        "missing": {"node_death_detect_s": "nothing reaps"}, "origin": origin,
    }  # fmt: skip


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(RECORDED))
    monkeypatch.setattr(run, "RESULTS", path)
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"# page\n{run.START}\n{run.END}\n")
    monkeypatch.setattr(run, "BENCHMARKS", page)
    return path


@pytest.mark.usefixtures("recorded")
def test_baseline_figures_stay_as_recorded_and_the_same_run_ratio_is_recorded() -> None:
    run._ratios({})  # fills DERIVED_FROM, as a run does
    report = _partial(
        {"accept_rps": 1500.0, "accept_floor_rps": 9000.0, "accept_ratio_to_floor": 0.17,
         "pg_accept_rps": 1200.0, "pg_accept_ratio_to_sqlite": 0.8},
        {"accept_rps": ["accept_and_push"], "accept_floor_rps": ["floors"],
         "accept_ratio_to_floor": ["accept_and_push", "floors"], "pg_accept_rps": ["pg_single"],
         "pg_accept_ratio_to_sqlite": ["accept_and_push", "pg_single"]},
    )  # fmt: skip

    merged = run.merge(report, ["floors", "accept_and_push", "pg_single"],
                       ["floors", "accept_and_push"])  # fmt: skip

    # SQLite's figures and their own ratio are the recorded ones, not this run's.
    assert merged["figures"]["accept_rps"] == 3208.0
    assert merged["figures"]["accept_ratio_to_floor"] == 0.135
    assert merged["figures"]["pg_accept_rps"] == 1200.0
    assert merged["figures"]["pg_accept_ratio_to_sqlite"] == 0.8
    # The SQLite figure the ratio was made from is kept beside the run's note.
    assert merged["partial"] == [{
        "scenarios": ["pg_single"], "date": "2026-12-07", "runs": 3, "command": "bench-cluster",
        "baseline": {"accept_rps": 1500.0},
    }]  # fmt: skip
    assert merged["missing"] == {"node_death_detect_s": "nothing reaps"}


@pytest.mark.usefixtures("recorded")
def test_a_figure_measured_later_drops_its_missing_reason() -> None:
    first = _partial({"rehome_s": 3.1}, {"rehome_s": ["node_death"]})
    run.write(run.merge(first, ["node_death"], []))
    later = _partial({"node_death_detect_s": 3.4}, {"node_death_detect_s": ["node_death"]})
    later["missing"] = {}

    merged = run.merge(later, ["node_death"], [])

    assert merged["missing"] == {}
    assert merged["figures"]["node_death_detect_s"] == 3.4
    assert len(merged["partial"]) == 1  # the newer run of the same scenario replaces the note
