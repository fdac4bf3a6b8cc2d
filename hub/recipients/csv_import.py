"""Reading recipients from CSV: every good row kept, every bad row reported with why.

The first line names the columns. ``phone`` (or ``number``) is required;
``name`` and ``tags`` (separated by ``;`` or ``|``) are optional; every other
column becomes a metadata key of that row (empty cells are left out). Lines
are counted as a spreadsheet shows them: the header is line 1.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Final

from hub.errors import BadCsv, InvalidNumber
from hub.recipients.directory import ImportRow
from hub.text.phone import to_e164
from hub.text.rules import control_character

MAX_ROWS: Final = 100_000
NAME_MAX: Final = 200
MAX_TAGS: Final = 50
MAX_COLUMNS: Final = 50
VALUE_MAX: Final = 500
_TAG_SPLIT: Final = re.compile(r"[;|]")
_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


def parse(text: str, region: str) -> tuple[list[str], list[ImportRow], list[dict[str, object]]]:
    """The columns, the good rows, and ``{line, reason}`` for each bad one."""
    try:
        return _parse(text, region)
    except csv.Error as exc:  # e.g. a cell over the csv module's field limit
        raise BadCsv(f"not readable as CSV: {exc}") from None


def _parse(text: str, region: str) -> tuple[list[str], list[ImportRow], list[dict[str, object]]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise BadCsv("the file is empty; the first line must name the columns") from None
    if len(header) > MAX_COLUMNS:
        raise BadCsv(f"more than {MAX_COLUMNS} columns")
    phone_column = next((c for c in ("phone", "number") if c in header), None)
    if phone_column is None:
        raise BadCsv("no 'phone' column; the first line must name the columns")
    bad_keys = [h for h in header if h not in ("name", "tags", phone_column) and not _KEY.match(h)]
    if bad_keys:
        raise BadCsv(f"column names must be letters, digits and _: {', '.join(bad_keys)}")
    rows: list[ImportRow] = []
    errors: list[dict[str, object]] = []
    first_line: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(rows) + len(errors) >= MAX_ROWS:
            raise BadCsv(f"more than {MAX_ROWS} rows; split the file")
        if len(cells) != len(header):
            errors.append({"line": line, "reason": f"{len(cells)} cells, the header has"
                           f" {len(header)}"})  # fmt: skip
            continue
        values = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        unfit = _control_character(values)
        if unfit is not None:
            errors.append({"line": line, "reason": unfit})
            continue
        try:
            phone = to_e164(values[phone_column], region)
        except InvalidNumber as exc:
            errors.append({"line": line, "reason": f"{phone_column}: {exc}"})
            continue
        if phone in first_line:
            errors.append({"line": line, "reason": f"the same number as line {first_line[phone]}"})
            continue
        name = values.get("name", "")
        if len(name) > NAME_MAX:
            errors.append({"line": line, "reason": f"name: longer than {NAME_MAX} characters"})
            continue
        tags = [t.strip() for t in _TAG_SPLIT.split(values.get("tags", "")) if t.strip()]
        if len(tags) > MAX_TAGS or any(len(t) > 50 for t in tags):
            errors.append({"line": line, "reason": f"tags: at most {MAX_TAGS}, each up to 50"})
            continue
        metadata: dict[str, str | int | float] = {
            h: v for h, v in values.items() if h not in ("name", "tags", phone_column) and v
        }
        if any(len(str(v)) > VALUE_MAX for v in metadata.values()):
            errors.append({"line": line, "reason": f"a cell is longer than {VALUE_MAX} characters"})
            continue
        first_line[phone] = line
        rows.append(ImportRow(line, name, phone, tags, metadata))
    return header, rows, errors


def _control_character(values: dict[str, str]) -> str | None:
    """Why a row is refused for a control character in a cell (``column: why``);
    a metadata cell may span lines, a name, number or tags may not."""
    for column, value in values.items():
        multiline = column not in ("name", "tags", "phone", "number")
        why = control_character(value, multiline=multiline)
        if why is not None:
            return f"{column}: {why}"
    return None
