"""GET /api/v1/postman.json: a Postman v2.1 collection made from the OpenAPI
document. Its structure is checked here; then newman (installed with npm into
a temporary folder when it is not on PATH) runs its "Main flows" folder against
a live hub with a simulated relay."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema  # installed with openapi-spec-validator (a dev dependency)
import pytest

from hub.devdocs import page as docs
from hub.devdocs.bodies import EXAMPLE_BODIES
from hub.devdocs.postman import MAIN_FLOWS, SCHEMA
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub

NEWMAN_VERSION = "6"
NEWMAN_HOME = Path(tempfile.gettempdir()) / "relayhub-newman"


async def fetch(hub: RunningHub) -> tuple[dict[str, Any], dict[str, Any]]:
    """The collection and the OpenAPI document it was made from."""
    collection = await hub.get("/api/v1/postman.json", token=None)
    spec = await hub.get("/api/v1/openapi.json", token=None)
    assert collection.status_code == 200
    assert collection.headers["content-type"] == "application/json"
    document: dict[str, Any] = spec.json()
    return collection.json(), document


def requests_in(folder: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in folder["item"] if "request" in item]


async def test_postman_collection_is_v2_1_with_base_url_and_token_variables(
    hub: RunningHub,
) -> None:
    collection, _ = await fetch(hub)

    assert collection["info"]["schema"] == SCHEMA
    assert collection["info"]["name"] == "relayhub"
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables == {
        "baseUrl": f"{hub.base_url}/api/v1",
        "token": "",
        "request_id": "",
        "otp_id": "",
    }
    assert collection["auth"] == {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}],
    }


async def test_postman_collection_has_every_operation_once_grouped_by_tag(
    hub: RunningHub,
) -> None:
    collection, spec = await fetch(hub)
    operations = docs.operations(spec)
    names = docs.text()["en"]["tags"]  # the folders are named like the page's groups
    folders = {folder["name"]: folder for folder in collection["item"]}
    tags = list(dict.fromkeys(op["tags"][0] for _, _, op in operations))

    assert list(folders) == [MAIN_FLOWS, *(names[tag] for tag in tags)]
    by_tag = {tag: folders[names[tag]] for tag in tags}
    for method, path, operation in operations:
        segments = path.removeprefix("/api/v1").replace("{", ":").replace("}", "").split("/")
        matches = [
            item
            for item in requests_in(by_tag[operation["tags"][0]])
            if item["request"]["method"] == method.upper()
            and item["request"]["url"]["path"] == segments[1:]
        ]
        assert len(matches) == 1, (method, path)
        request = matches[0]["request"]
        assert matches[0]["name"] == operation["summary"]
        assert request["url"]["raw"].startswith("{{baseUrl}}/")
        assert request["url"]["host"] == ["{{baseUrl}}"]
        path_params = [p["name"] for p in operation["parameters"] if p.get("in") == "path"]
        assert [v["key"] for v in request["url"].get("variable", [])] == path_params
        assert (request.get("auth") == {"type": "noauth"}) == (operation.get("security") == [])
    total = sum(len(requests_in(folder)) for folder in by_tag.values())
    assert total == len(operations)


async def test_postman_example_bodies_match_their_request_schemas(hub: RunningHub) -> None:
    collection, spec = await fetch(hub)
    by_name = {
        item["name"]: item for folder in collection["item"][1:] for item in requests_in(folder)
    }

    checked = 0
    for _, _, operation in docs.operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        assert operation["operationId"] in EXAMPLE_BODIES, operation["operationId"]
        body = by_name[operation["summary"]]["request"]["body"]
        assert body["mode"] == "raw" and body["options"]["raw"]["language"] == "json"
        schema = {**content["application/json"]["schema"], "components": spec["components"]}
        jsonschema.validate(json.loads(body["raw"]), schema)
        checked += 1
    assert checked >= 15


async def test_postman_main_flows_test_their_answers_and_chain_ids(hub: RunningHub) -> None:
    collection, spec = await fetch(hub)
    flow = collection["item"][0]
    scripts = {item["name"]: "\n".join(item["event"][0]["script"]["exec"]) for item in flow["item"]}
    names = {op["operationId"]: op["summary"] for _, _, op in docs.operations(spec)}

    assert list(scripts) == [
        names[k] for k in ("health", "send_sms", "message_status", "send_otp", "verify_otp")
    ]
    send, status, otp = (scripts[names[k]] for k in ("send_sms", "message_status", "send_otp"))
    assert "pm.response.to.have.status(202)" in send
    assert 'pm.collectionVariables.set("request_id", body.request_id)' in send
    assert "pm.response.to.have.status(200)" in status and '"delivered"' in status
    assert 'pm.collectionVariables.set("otp_id", body.otp_id)' in otp
    status_url = next(i for i in flow["item"] if i["name"] == names["message_status"])
    assert status_url["request"]["url"]["raw"].endswith("?request_id={{request_id}}")
    assert all(s.count("pm.test(") == 1 for s in scripts.values())


# --- newman against a live hub --------------------------------------------------


def _newman_or_reason() -> Path | str:
    found = shutil.which("newman")
    if found:
        return Path(found)
    binary = NEWMAN_HOME / "node_modules" / ".bin" / "newman"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so newman cannot be installed"
    try:
        subprocess.run(
            [npm, "install", "--prefix", str(NEWMAN_HOME), "--no-audit", "--no-fund",
             "--loglevel=error", f"newman@{NEWMAN_VERSION}"],
            check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        output = (getattr(exc, "stderr", "") or "").strip().splitlines()[-3:]
        return f"npm install newman failed: {' '.join(output) or exc}"
    return binary if binary.exists() else "npm install newman left no newman binary"


@pytest.fixture
def newman() -> Path:
    """newman's path; skips (or fails with RELAYHUB_REQUIRE_TOOLCHAINS=1) without it."""
    found = _newman_or_reason()
    if isinstance(found, Path):
        return found
    if os.environ.get("RELAYHUB_REQUIRE_TOOLCHAINS") == "1":
        pytest.fail(f"{found} (RELAYHUB_REQUIRE_TOOLCHAINS=1)", pytrace=False)
    print(f"skipping the newman run: {found}")
    pytest.skip(found)


@pytest.mark.timeout(420)
async def test_newman_runs_the_main_flows_green_against_a_live_hub(
    newman: Path, hub: RunningHub, tmp_path: Path
) -> None:
    relay = await hub.relay("Postman phone")
    collection, _ = await fetch(hub)
    collection_file = tmp_path / "relayhub.postman_collection.json"
    collection_file.write_text(json.dumps(collection))
    report = tmp_path / "newman.json"

    process = await asyncio.create_subprocess_exec(
        str(newman), "run", str(collection_file), "--folder", MAIN_FLOWS,
        "--env-var", f"token={ADMIN_TOKEN}", "--timeout-request", "10000", "--color", "off",
        "--reporters", "cli,json", "--reporter-json-export", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == 0, output.decode()
    run = json.loads(report.read_text())["run"]
    passed = {
        a["assertion"]
        for execution in run["executions"]
        for a in execution.get("assertions", [])
        if "error" not in a
    }
    assert run["stats"]["assertions"]["failed"] == 0
    assert passed == {
        "Health answers 200 with status ok",
        "Send SMS answers 202 with a request_id",
        "Message status answers 200 with a known status",
        "Send OTP answers 200 with an otp_id",
        "Verify OTP answers 200 with a known status",
    }
    # What newman sent really went through the hub to the phone.
    await relay.wait_until(lambda: len(relay.jobs_received) >= 2)
    texts = [job.text for job in relay.jobs_received]
    assert EXAMPLE_BODIES["send_sms"]["text"] in texts
