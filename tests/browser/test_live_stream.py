"""The dashboard's live stream client (hub/web/dashboard/stream.js) in a real
browser: its SSE parser, and a resume with Last-Event-ID after the connection
drops, against a real hub's GET /api/v1/events."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Request

from tests.browser.conftest import OpenDashboard, require_chromium
from tests.e2e.conftest import RunningHub

require_chromium()

STREAM = "/dashboard/assets/stream.js"

# Feeds the same text in the given chunks to a fresh parser; returns what it saw.
PARSE = """
async ([url, chunks]) => {
  const { SseParser } = await import(url);
  const events = [];
  const retries = [];
  const parser = new SseParser((e) => events.push(e), (ms) => retries.push(ms));
  for (const chunk of chunks) parser.feed(chunk);
  return { events, retries };
}
"""

# Two LiveStreams on the page's own token: `probe` (dropped and resumed by the
# test) and `watch` (never dropped: proves an event is committed).
START = """
async (url) => {
  const { LiveStream } = await import(url);
  const make = (name) => {
    const record = { name, state: "", states: [], events: [] };
    record.stream = new LiveStream({
      url: "/api/v1/events",
      token: () => sessionStorage.getItem("relayhub.token"),
      onEvent: (e) => record.events.push(
        { id: e.id, type: e.type, request_id: e.body?.data?.request_id },
      ),
      onState: (state) => { record.state = state; record.states.push(state); },
      onUnauthorized: () => { record.state = "unauthorized"; },
    });
    record.stream.start();
    return record;
  };
  window.__probe = make("probe");
  window.__watch = make("watch");
}
"""

TEXT = (
    "\ufeffretry: 2500\n\n"
    'id: evt_1\nevent: message.sent\ndata: {"a":1}\n\n'
    ": keepalive\n\n"
    "id: evt_2\r\nevent: device.online\r\ndata: line one\rdata: line two\r\n\r\n"
    "event: reset\ndata:{}\n\n"
    "data: no end yet"
)
EXPECTED = [
    {"id": "evt_1", "type": "message.sent", "data": '{"a":1}'},
    {"id": "evt_2", "type": "device.online", "data": "line one\nline two"},
    # A reset carries no id: the last one seen stays (what a resume would send).
    {"id": "evt_2", "type": "reset", "data": "{}"},
]


async def parse(dash: Any, chunks: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = await dash.page.evaluate(PARSE, [STREAM, chunks])
    return result


async def test_stream_parser_reads_events_whatever_the_chunking(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    dash = await open_dashboard()
    await dash.sign_in()

    whole = await parse(dash, [TEXT])
    by_char = await parse(dash, list(TEXT))
    # Every chunk ends in a CR, which may be half of a CRLF: the worst case.
    parts = TEXT.split("\r")
    at_cr = await parse(dash, [part + "\r" for part in parts[:-1]] + parts[-1:])

    assert whole == {"events": EXPECTED, "retries": [2500]}
    assert by_char == whole
    assert at_cr == whole
    await dash.assert_clean()


async def test_stream_resumes_with_last_event_id_and_gets_what_it_missed(
    hub: RunningHub, open_dashboard: OpenDashboard
) -> None:
    dash = await open_dashboard()
    page = dash.page
    resumed_with: list[str | None] = []

    async def on_request(request: Request) -> None:
        if request.url.endswith("/api/v1/events"):
            headers = await request.all_headers()
            resumed_with.append(headers.get("last-event-id"))

    page.on("request", on_request)
    await dash.sign_in()
    await page.evaluate(START, STREAM)
    await page.wait_for_function("() => __probe.state === 'open' && __watch.state === 'open'")

    await hub.relay("Relay R")
    await page.wait_for_function("() => __probe.events.some((e) => e.type === 'device.online')")
    online_id = await page.evaluate("__probe.events.at(-1).id")

    # The connection drops; while the probe waits to reconnect, a message is
    # sent and delivered (the watch stream proves its events are stored).
    await page.evaluate("__probe.stream.controller.abort()")
    await page.wait_for_function("() => __probe.state === 'waiting'")
    request_id = await hub.send()
    await page.wait_for_function(
        "id => __watch.events.some((e) => e.type === 'message.delivered' && e.request_id === id)",
        arg=request_id,
    )

    # It reconnects on its own after the hub's `retry` (3 s), resuming after
    # the last id it saw: the missed events arrive, nothing is repeated.
    await page.wait_for_function(
        "id => __probe.events.some((e) => e.type === 'message.delivered' && e.request_id === id)",
        arg=request_id,
        timeout=10_000,
    )
    probe = await page.evaluate("__probe.events.map((e) => [e.type, e.request_id || null])")
    watch = await page.evaluate("__watch.events.map((e) => [e.type, e.request_id || null])")
    expected = [
        ["device.online", None],
        ["message.sent", request_id],
        ["message.delivered", request_id],
    ]
    assert probe == expected
    assert watch == expected
    states = await page.evaluate("__probe.states")
    assert states[-3:] == ["waiting", "connecting", "open"]
    assert online_id in resumed_with  # the probe's second request
    await page.evaluate("__probe.stream.stop(); __watch.stream.stop()")
    await dash.assert_clean()
