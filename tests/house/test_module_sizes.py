"""No module of hand-written code over about 450 lines (issue 17).

A module past that size holds more than one concept (STYLE.md 7 aims at
100-400). Split it by concept, not in half.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "protocol", "relay_sim", "bench", "tests")
MAX_LINES = 450


def line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as file:
        return sum(1 for _ in file)


def modules_over(limit: int) -> dict[str, int]:
    """Path (from the repo root) → lines, of every module over ``limit``."""
    return {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := line_count(path)) > limit
    }


def test_no_module_is_over_450_lines() -> None:
    over = modules_over(MAX_LINES)
    assert over == {}, f"over {MAX_LINES} lines; split each by concept: {over}"


def test_the_count_is_of_lines_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("a = 1\n\n# c\nb = 2")  # a last line without a newline counts too
    assert line_count(path) == 4
