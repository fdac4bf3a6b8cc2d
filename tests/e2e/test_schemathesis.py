"""Schemathesis against the live OpenAPI document: no server error, and every
answer matches its documented status, content type and schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.e2e.conftest import ADMIN_TOKEN, hub_config, serve_hub

ST = Path(sys.executable).with_name("st")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


async def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    tmp_path: Path,
) -> None:
    async with serve_hub(hub_config(tmp_path / "data")) as hub:
        await hub.relay("A")  # sends can reach a phone, so their paths run whole
        process = await asyncio.create_subprocess_exec(
            str(ST), "run", f"{hub.base_url}/api/v1/openapi.json",
            "--checks", CHECKS, "--max-examples", "8", "--seed", "20261127",
            "--phases", "examples,coverage,fuzzing",
            "-H", f"Authorization: Bearer {ADMIN_TOKEN}",
            # The live stream never ends by itself; it has its own tests.
            "--exclude-path", "/api/v1/events",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
    report = output.decode(errors="replace")
    summary = report[report.rfind("SUMMARY") :]
    assert process.returncode == 0, summary or report[-3000:]
    assert "generated" in summary and "passed" in summary
