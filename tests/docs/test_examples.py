"""The API examples in docs/examples/: the same as hub/devdocs/examples.py renders from
hub/devdocs/example_templates/ (``make docs`` writes them), and working code.

- Every example that can run here runs as its own process against a live hub with
  a simulated relay (tests/e2e's harness): the SMS must reach ``delivered``, the
  status example must say so, and a code read from the relay's ``send`` frame must
  verify. Required: cURL, Python, Node (fetch) and Axios; PHP, Ruby, Go and Java too
  when their toolchains are installed.
- Every webhook check that can run here prints "valid" for the spec's test vector.
- The rest is syntax-checked where a tool exists: ``php -l`` (PHP, Laravel,
  WordPress), ``ruby -wc``, ``gofmt -l`` and ``go vet``, ``javac -Werror``.
- Not checkable here (``UNCHECKED``): Kotlin, Flutter/Dart and C#.

A missing tool skips its test with the reason printed; with
``RELAYHUB_REQUIRE_TOOLCHAINS=1`` (CI) it fails instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
import standardwebhooks

from hub.devdocs import examples as dx
from scripts import docs_examples as writer
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, hub_config, serve_hub

EXAMPLES = writer.OUT
REQUIRED_ENV = "RELAYHUB_REQUIRE_TOOLCHAINS"
TIMEOUT_S = 30  # one example process; go run and javac take a second or two

Command = Callable[[str], list[str]]  # operation id -> argv


def need(tool: str, why: str) -> str:
    """The tool's path; without it, skip (or fail when toolchains are required)."""
    return shutil.which(tool) or missing(f"{tool} not found on PATH: {why}")


def missing(reason: str) -> NoReturn:
    if os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=1)", pytrace=False)
    print(f"skipping: {reason}")
    pytest.skip(reason)


def example(language: str, operation: str) -> Path:
    lang = next(lang for lang in dx.LANGUAGES if lang.id == language)
    return EXAMPLES / dx.example_path(lang, dx.operation(operation))


@pytest.fixture(scope="session")
def axios_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with axios installed from the npm registry; examples are copied into it."""
    npm = need("npm", "the Axios examples need `npm install axios`")
    folder = tmp_path_factory.mktemp("axios")
    try:
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "axios@1"],
            cwd=folder, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        output = getattr(exc, "stderr", "") or ""
        missing(f"`npm install axios` failed (is the npm registry reachable?): {output[-500:]}")
    yield folder


def _php_with_curl() -> str:
    php = need("php", "the PHP examples run with php-cli")
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=True).stdout
    if "curl" not in modules.split():
        missing("PHP has no curl extension: the PHP examples need php-curl")
    return php


def live_command(language: str, request: pytest.FixtureRequest) -> Command:
    """How to run a request example of ``language`` (skips if its toolchain is missing).

    Call it before the hub starts: finding the tools (and installing axios) blocks.
    """

    def path(op: str) -> str:
        return str(example(language, op))

    if language == "curl":
        need("curl", "the cURL examples call curl")
        sh = need("sh", "the cURL examples are sh scripts")
        return lambda op: [sh, path(op)]
    if language == "python":
        return lambda op: [sys.executable, path(op)]
    if language == "node":
        node = need("node", "the Node examples run with node (18+)")
        return lambda op: [node, path(op)]
    if language == "axios":
        node = need("node", "the Axios examples run with node (18+)")
        folder: Path = request.getfixturevalue("axios_dir")

        def copied(op: str) -> list[str]:
            target = folder / f"{op}.mjs"  # next to node_modules/axios
            shutil.copyfile(path(op), target)
            return [node, str(target)]

        return copied
    if language == "php":
        php = _php_with_curl()
        return lambda op: [php, path(op)]
    if language == "ruby":
        ruby = need("ruby", "the Ruby examples run with ruby")
        return lambda op: [ruby, path(op)]
    if language == "go":
        go = need("go", "the Go examples run with `go run`")
        return lambda op: [go, "run", path(op)]
    if language == "java":
        java = need("java", "the Java examples run with `java File.java` (11+)")
        return lambda op: [java, path(op)]
    raise AssertionError(f"no way to run {language} here")


async def run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run one example as its own process (without blocking the hub in this loop)."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TIMEOUT_S):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise AssertionError(f"{argv} still running after {TIMEOUT_S} s") from None
    assert process.returncode == 0, f"{argv} exited {process.returncode}:\n{err.decode()}"
    return out.decode()


def hub_env(hub: RunningHub, **extra: str) -> dict[str, str]:
    return {"RELAYHUB_URL": hub.base_url, "RELAYHUB_TOKEN": ADMIN_TOKEN, **extra}


# --- the files are what the module renders ---------------------------------------


def test_committed_examples_are_what_the_generator_writes() -> None:
    stale = writer.drift()

    assert not stale, f"run `make docs`; out of date: {stale}"


def test_generator_writes_a_fresh_folder_and_then_finds_no_drift(tmp_path: Path) -> None:
    written = writer.write(tmp_path)
    (tmp_path / "go" / "stray.go").write_text("package main\n")
    (tmp_path / "python" / "send_sms.py").write_text("# edited by hand\n")

    assert len(written) == len(dx.LANGUAGES) * len(dx.OPERATIONS) + 1  # and the README
    assert writer.drift(tmp_path) == ["go/stray.go", "python/send_sms.py"]
    assert writer.main(["--out", str(tmp_path), "--check"]) == 1
    assert writer.main(["--out", str(tmp_path)]) == 0
    assert writer.drift(tmp_path) == []
    assert not (tmp_path / "go" / "stray.go").exists()


def test_examples_for_gives_every_language_in_the_declared_order() -> None:
    ids = [lang.id for lang in dx.LANGUAGES]

    for op in dx.OPERATIONS:
        examples = dx.examples_for(op.id)
        assert list(examples) == ids
        assert all(code.strip() and "{{" not in code for code in examples.values()), op.id
        assert all(examples[lang.id] == dx.render(lang, op) for lang in dx.LANGUAGES)
    assert len(set(ids)) == len(ids) == 13
    assert len({lang.name for lang in dx.LANGUAGES}) == 13
    with pytest.raises(KeyError, match="no operation 'nope'"):
        dx.examples_for("nope")


def test_every_request_example_names_its_call_and_its_variables() -> None:
    for op in dx.OPERATIONS:
        for lang, code in zip(dx.LANGUAGES, dx.examples_for(op.id).values(), strict=True):
            assert op.purpose in code and op.call in code, (lang.id, op.id)
            if op.method is None:
                assert dx.WEBHOOK_SAMPLE.signature in code, lang.id
                continue
            assert op.path in code, (lang.id, op.id)
            assert "RELAYHUB_URL" in code and dx.DEFAULT_URL in code, (lang.id, op.id)
            assert "RELAYHUB_TOKEN" in code or lang.id == "laravel", (lang.id, op.id)
            for env in op.env:
                assert env.name in code, (lang.id, op.id, env.name)


def test_operations_match_the_routes_the_hub_serves() -> None:
    from hub.app import routes

    served = {
        (method, route.path)
        for route in routes()
        for method in getattr(route, "methods", None) or ()
    }
    for op in dx.OPERATIONS:
        if op.method is not None:
            assert (op.method, op.path) in served, op.id


def test_every_language_is_run_checked_or_listed_as_uncheckable() -> None:
    covered = set(LIVE) | set(WEBHOOK) | set(SYNTAX) | set(UNCHECKED)

    assert covered == {lang.id for lang in dx.LANGUAGES}
    assert not set(UNCHECKED) & (set(LIVE) | set(WEBHOOK) | set(SYNTAX))


# --- the webhook check's sample and the Python function --------------------------


def test_the_sample_is_the_standard_webhooks_test_vector() -> None:
    sample = dx.WEBHOOK_SAMPLE
    key = base64.b64decode(sample.secret.removeprefix("whsec_"))
    signed = f"{sample.msg_id}.{sample.timestamp}.{sample.payload}".encode()
    ours = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    theirs = standardwebhooks.Webhook(sample.secret).sign(
        sample.msg_id, datetime.fromtimestamp(sample.timestamp, UTC), sample.payload
    )

    assert sample.signature == f"v1,{ours}" == theirs


@pytest.fixture(scope="module")
def python_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "verify_webhook", example("python", "verify_webhook")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_check_accepts_what_standard_webhooks_signs(python_check: ModuleType) -> None:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    now = datetime.now(UTC)
    body = '{"type":"message.delivered","data":{"to":"+998901234567"}}'
    signature = standardwebhooks.Webhook(secret).sign("msg_1", now, body)
    other = standardwebhooks.Webhook("whsec_" + "A" * 43 + "=").sign("msg_1", now, body)
    stamp = str(int(now.timestamp()))

    def verify(signatures: str, timestamp: str = stamp, payload: str = body, **kw: Any) -> bool:
        result: bool = python_check.verify_webhook(
            secret, "msg_1", timestamp, signatures, payload.encode(), **kw
        )
        return result

    assert verify(signature)
    assert verify(f"{other} {signature}")  # during a secret rotation: either may match
    assert not verify(other)
    assert not verify(signature.replace("v1,", "v2,"))  # other versions are ignored
    assert not verify(signature, payload=body + " ")
    assert not verify(signature, timestamp=str(int(stamp) + 1))
    assert not verify(signature, now=now.timestamp() + 301)  # replayed too late
    assert not verify(signature, now=now.timestamp() - 301)  # from the future
    assert not verify(signature, timestamp="")
    assert not verify(signature, timestamp="१२३")  # digits, but not ASCII ones
    assert not verify("v1,é")


# --- live: each example against a real hub ---------------------------------------

LIVE = ("curl", "python", "node", "axios", "php", "ruby", "go", "java")


@pytest.mark.parametrize("language", LIVE)
async def test_send_sms_and_status_examples_see_the_message_delivered(
    language: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    command = live_command(language, request)
    async with serve_hub(hub_config(tmp_path / "data")) as hub:
        relay = await hub.relay("Relay Device 1")

        sent = json.loads(await run(command("send_sms"), hub_env(hub), tmp_path))
        request_id = sent["request_id"]
        await relay.wait_until(
            lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0
        )
        polled = await hub.status(request_id)
        shown = await run(command("message_status"), hub_env(hub, REQUEST_ID=request_id), tmp_path)

    assert sent["ok"] is True and sent["status"] == "queued", sent
    assert polled["status"] == "delivered"
    assert [(job.to, job.text) for job in relay.jobs_received] == [
        ("+998901234567", "Salom from relayhub")
    ]
    status = json.loads(shown)
    assert status["request_id"] == request_id
    assert status["status"] == "delivered"
    assert status["device_name"] == "Relay Device 1"


@pytest.mark.parametrize("language", LIVE)
async def test_otp_examples_send_a_code_that_then_verifies(
    language: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    command = live_command(language, request)
    async with serve_hub(hub_config(tmp_path / "data")) as hub:
        relay = await hub.relay("Relay Device 1")

        otp = json.loads(await run(command("send_otp"), hub_env(hub), tmp_path))
        await relay.wait_until(lambda: any(j.id == otp["request_id"] for j in relay.jobs_received))
        text = next(j.text for j in relay.jobs_received if j.id == otp["request_id"])
        (code,) = set(re.findall(r"\b\d{6}\b", text))  # an autofill line repeats it
        wrong = str((int(code) + 1) % 10**6).zfill(6)
        env = hub_env(hub, OTP_ID=otp["otp_id"], OTP_CODE=wrong)
        rejected = (await run(command("verify_otp"), env, tmp_path)).splitlines()
        env = hub_env(hub, OTP_ID=otp["otp_id"], OTP_CODE=code)
        verified = (await run(command("verify_otp"), env, tmp_path)).splitlines()

    assert otp["ok"] is True and otp["status"] == "sent", otp
    assert relay.jobs_received[0].to == "+998901234567"
    # Each prints the answer, then branches on `valid`.
    assert json.loads(rejected[0])["status"] == "failed" and rejected[-1] == "not valid"
    assert json.loads(verified[0])["status"] == "verified" and verified[-1] == "valid"


# --- webhook checks that run here ------------------------------------------------


def _webhook_command(language: str) -> list[str]:
    path = str(example(language, "verify_webhook"))
    if language == "curl":
        need("openssl", "the shell check computes the HMAC with openssl")
        return [need("sh", "the cURL examples are sh scripts"), path]
    if language == "python":
        return [sys.executable, path]
    if language in ("node", "axios"):
        return [need("node", "the Node examples run with node (18+)"), path]
    if language == "php":
        return [need("php", "the PHP examples run with php-cli"), path]
    if language == "laravel":  # the middleware's selfCheck() needs no framework
        php = need("php", "the Laravel example's self-check runs with php-cli")
        call = "App\\Http\\Middleware\\VerifyRelayhubSignature::selfCheck();"
        return [php, "-r", f"require {json.dumps(path)}; {call}"]
    if language == "ruby":
        return [need("ruby", "the Ruby examples run with ruby"), path]
    if language == "go":
        return [need("go", "the Go examples run with `go run`"), "run", path]
    if language == "java":
        return [need("java", "the Java examples run with `java File.java` (11+)"), path]
    raise AssertionError(f"no way to run {language}'s webhook check here")


WEBHOOK = ("curl", "python", "node", "axios", "php", "laravel", "ruby", "go", "java")


@pytest.mark.parametrize("language", WEBHOOK)
async def test_webhook_check_prints_valid_for_the_spec_test_vector(
    language: str, tmp_path: Path
) -> None:
    output = await run(_webhook_command(language), {}, tmp_path)

    assert output.strip() == "valid"


# --- syntax checks for what cannot run here --------------------------------------

# What no toolchain here can check, and why (kept in sync with LANGUAGES by a test).
UNCHECKED = {
    "kotlin": "needs kotlinc with OkHttp and org.json (Debian's kotlin 1.3 is too old)",
    "flutter": "needs the Dart SDK and package:http / package:crypto (not packaged in Debian)",
    "csharp": "needs the .NET 6+ SDK (not packaged in Debian; mono's mcs lacks the APIs)",
}


async def _all_pass(argvs: list[list[str]], cwd: Path) -> list[str]:
    return list(await asyncio.gather(*(run(argv, {}, cwd) for argv in argvs)))


def _files(language: str) -> list[str]:
    return [str(example(language, op.id)) for op in dx.OPERATIONS]


async def check_php(language: str, tmp_path: Path) -> None:
    php = need("php", "`php -l` checks the PHP, Laravel and WordPress examples")
    await _all_pass([[php, "-l", path] for path in _files(language)], tmp_path)


async def check_ruby(language: str, tmp_path: Path) -> None:
    ruby = need("ruby", "`ruby -wc` checks the Ruby examples")
    outputs = await _all_pass([[ruby, "-wc", path] for path in _files(language)], tmp_path)
    assert all(out.strip() == "Syntax OK" for out in outputs), outputs


async def check_go(language: str, tmp_path: Path) -> None:
    gofmt = need("gofmt", "`gofmt -l` checks the Go examples' formatting")
    go = need("go", "`go vet` checks the Go examples")
    assert await run([gofmt, "-l", *_files(language)], {}, tmp_path) == ""
    # Each example is its own main package: one folder each in a throwaway module, so
    # one `go vet` builds what they share once.
    (tmp_path / "go.mod").write_text("module examples\n\ngo 1.18\n")
    for path in map(Path, _files(language)):
        (tmp_path / path.stem).mkdir()
        shutil.copyfile(path, tmp_path / path.stem / "main.go")
    await run([go, "vet", "./..."], {}, tmp_path)


async def check_java(language: str, tmp_path: Path) -> None:
    javac = need("javac", "javac compiles the Java examples")
    await run(
        [javac, "-Xlint:all", "-Werror", "-d", str(tmp_path), *_files(language)], {}, tmp_path
    )


SYNTAX = {
    "php": check_php,
    "laravel": check_php,
    "wordpress": check_php,
    "ruby": check_ruby,
    "go": check_go,
    "java": check_java,
}


@pytest.mark.parametrize("language", SYNTAX)
async def test_examples_pass_their_language_checker(language: str, tmp_path: Path) -> None:
    await SYNTAX[language](language, tmp_path)
