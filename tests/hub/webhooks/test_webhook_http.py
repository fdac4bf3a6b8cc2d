"""Tests for ``hub/webhooks/http.py``: the webhook POST client, against real sockets.

Each test runs a loopback server that answers every request with the next of
its scripted answers (raw bytes, so broken and unusual answers can be made),
and records the requests and how many connections it was given.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.webhooks.http import BODY_MAX, Answer, Pool, RequestFailed

OK = b"HTTP/1.1 204 No Content\r\n\r\n"
CLOSE = "close"  # a script step: close the connection instead of answering
HANG = "hang"  # a script step: never answer (until the client goes away)


@dataclass
class Server:
    answers: list[bytes | str]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0) if self.answers else OK
                if answer == CLOSE:
                    break
                if answer == HANG:
                    await reader.read()  # returns once the client closes
                    break
                assert isinstance(answer, bytes)
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serve(*answers: bytes | str) -> AsyncIterator[Server]:
    server = Server(list(answers))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/hook?x=1"
    async with listener:
        yield server


async def post(pool: Pool, url: str, body: bytes = b'{"a": 1}', excerpt: int = 512) -> Answer:
    return await pool.post(
        url, host_header="hooks.example.uz", server_name="hooks.example.uz",
        headers={"content-type": "application/json", "webhook-id": "evt_1"},
        body=body, excerpt_bytes=excerpt,
    )  # fmt: skip


@pytest.fixture
async def pool() -> AsyncIterator[Pool]:
    pool = Pool("relayhub-webhooks/test")
    yield pool
    await pool.close()


async def test_pool_posts_the_body_with_the_given_host_and_headers(pool: Pool) -> None:
    async with serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok") as server:
        answer = await post(pool, server.url)

    assert answer.status == 200
    assert answer.headers["x-a"] == "b"
    assert answer.excerpt == b"ok"
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook?x=1 HTTP/1.1"
    assert b"host: hooks.example.uz" in lines
    assert b"webhook-id: evt_1" in lines
    assert b"user-agent: relayhub-webhooks/test" in lines
    assert body == b'{"a": 1}'


async def test_pool_reuses_a_kept_alive_connection_when_the_answer_is_complete(
    pool: Pool,
) -> None:
    async with serve(OK, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OK) as server:
        statuses = [(await post(pool, server.url)).status for _ in range(3)]

    assert statuses == [204, 200, 204]
    assert server.connections == 1


async def test_pool_opens_a_new_connection_after_an_answer_that_closes_it(pool: Pool) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    async with serve(closing, OK) as server:
        await post(pool, server.url)
        await post(pool, server.url)

    assert server.connections == 2


async def test_pool_keeps_only_the_start_of_a_chunked_body(pool: Pool) -> None:
    chunked = (
        b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    async with serve(chunked, OK) as server:
        answer = await post(pool, server.url, excerpt=8)
        await post(pool, server.url)

    assert (answer.status, answer.excerpt) == (500, b"hello wo")
    assert server.connections == 1  # the body was read to its end: the connection lives on


async def test_pool_closes_a_connection_whose_answer_is_too_long_to_read(pool: Pool) -> None:
    size = BODY_MAX + 10
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size
    async with serve(huge, OK) as server:
        answer = await post(pool, server.url, excerpt=4)
        await post(pool, server.url)

    assert (answer.status, answer.excerpt) == (200, b"xxxx")
    assert server.connections == 2


async def test_pool_skips_an_informational_answer_and_returns_the_final_one(pool: Pool) -> None:
    async with serve(b"HTTP/1.1 100 Continue\r\n\r\n" + OK) as server:
        answer = await post(pool, server.url)

    assert answer.status == 204


async def test_pool_returns_a_redirect_without_following_it(pool: Pool) -> None:
    redirect = b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/\r\nContent-Length: 0\r\n\r\n"
    async with serve(redirect) as server:
        answer = await post(pool, server.url)

    assert answer.status == 302
    assert len(server.requests) == 1


async def test_pool_retries_once_on_a_fresh_connection_when_an_idle_one_was_closed(
    pool: Pool,
) -> None:
    # The server drops the kept-alive connection without answering the second
    # request, as a server that timed out an idle connection does.
    async with serve(OK, CLOSE, OK) as server:
        await post(pool, server.url)
        answer = await post(pool, server.url)

    assert answer.status == 204
    assert server.connections == 2
    assert len(server.requests) == 3


async def test_pool_fails_when_a_fresh_connection_closes_without_an_answer(pool: Pool) -> None:
    async with serve(CLOSE) as server:
        with pytest.raises(RequestFailed, match="closed before an answer"):
            await post(pool, server.url)


async def test_pool_fails_on_an_answer_that_is_not_http(pool: Pool) -> None:
    async with serve(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as server:
        with pytest.raises(RequestFailed):
            await post(pool, server.url)


@pytest.mark.parametrize("path", ["/a b", "/é", "/a\x00b"])
async def test_pool_fails_without_connecting_on_a_url_http_cannot_send(
    pool: Pool, path: str
) -> None:
    async with serve(OK) as server:
        with pytest.raises(RequestFailed, match="the URL cannot be sent as it is"):
            await post(pool, server.url.replace("/hook?x=1", path))

    assert server.connections == 0


async def test_pool_fails_when_nothing_listens(pool: Pool) -> None:
    async with serve() as server:
        url = server.url
    with pytest.raises(RequestFailed, match="cannot connect"):
        await post(pool, url)


async def test_pool_never_reuses_a_connection_whose_attempt_timed_out(pool: Pool) -> None:
    async with serve(HANG, OK) as server:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await post(pool, server.url)
        answer = await post(pool, server.url)

    assert answer.status == 204
    assert server.connections == 2


# --- TLS: the connection goes to the checked address, the name is checked on the certificate


def certificate_for(name: str, folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@asynccontextmanager
async def serve_tls(cert_file: Path, key_file: Path) -> AsyncIterator[Server]:
    server = Server([])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=context)
    server.url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}/hook"
    async with listener:
        yield server


async def test_pool_speaks_tls_to_the_address_and_checks_the_name_it_is_given(
    tmp_path: Path,
) -> None:
    cert_file, key_file = certificate_for("hooks.example.uz", tmp_path)
    trust = ssl.create_default_context(cafile=cert_file)
    pool = Pool("relayhub-webhooks/test", tls=trust)
    try:
        async with serve_tls(cert_file, key_file) as server:
            answer = await post(pool, server.url)  # names hooks.example.uz
            with pytest.raises(RequestFailed, match="TLS"):
                await pool.post(
                    server.url, host_header="evil.example", server_name="evil.example",
                    headers={}, body=b"{}", excerpt_bytes=0,
                )  # fmt: skip
    finally:
        await pool.close()

    assert answer.status == 204
    assert len(server.requests) == 1  # nothing was sent to a server that failed the check
