// The live stream: GET /api/v1/events read with fetch() and a ReadableStream,
// because EventSource cannot send the Authorization header.
//
// It parses Server-Sent Events the way the HTML spec says (fields, comments,
// CR/LF/CRLF line ends, `retry:`), resumes with `Last-Event-ID` after any
// disconnect, and reconnects on its own with exponential backoff and jitter.
// A stream silent for longer than STALL_MS (the hub sends a keepalive comment
// every 15 s) is treated as dead and reopened.

const STALL_MS = 45_000;
const MAX_DELAY_MS = 30_000;

export class LiveStream {
  /**
   * url: the stream; token: () => the bearer token;
   * onEvent({id, type, body}): each event (`body` is the parsed JSON data);
   * onState(state, info): "connecting" | "open" | "waiting" (info.delay ms) |
   *   "forbidden" | "stopped";
   * onUnauthorized(): the hub answered 401 (the stream then stops).
   */
  constructor({ url, token, onEvent, onState, onUnauthorized }) {
    this.url = url;
    this.token = token;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.lastEventId = "";
    this.retryMs = 1000;
    this.failures = 0;
    this.running = false;
    this.controller = null;
    this.wake = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
    this.onState("stopped");
  }

  /** Skip the current backoff wait (the browser came back online, say). */
  reconnectNow() {
    this.failures = 0;
    this.wake?.();
  }

  async loop() {
    while (this.running) {
      const outcome = await this.connect();
      if (!this.running) return;
      if (outcome === "unauthorized") {
        this.running = false;
        this.onUnauthorized();
        return;
      }
      if (outcome === "forbidden") {
        this.running = false;
        this.onState("forbidden");
        return;
      }
      const delay = this.nextDelay();
      this.onState("waiting", { delay });
      await this.sleep(delay);
    }
  }

  nextDelay() {
    this.failures += 1;
    const base = Math.min(MAX_DELAY_MS, this.retryMs * 2 ** Math.min(this.failures - 1, 5));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** One connection, until it ends; returns why it ended. */
  async connect() {
    const controller = new AbortController();
    this.controller = controller;
    this.onState("connecting");
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${this.token()}` };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    let stall = null;
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(), STALL_MS);
    };
    try {
      armStall();
      const response = await fetch(this.url, { headers, cache: "no-store", signal: controller.signal });
      if (response.status === 401) return "unauthorized";
      if (response.status === 403) return "forbidden";
      if (!response.ok || !response.body) {
        response.body?.cancel();
        return "error";
      }
      this.onState("open");
      this.failures = 0;
      await this.read(response.body, armStall);
      return "ended";
    } catch {
      return "error"; // network error, abort on stop, or the stall timer
    } finally {
      clearTimeout(stall);
      if (this.controller === controller) this.controller = null;
    }
  }

  async read(body, alive) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser((event) => this.dispatch(event), (ms) => (this.retryMs = ms));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      alive();
      parser.feed(value);
    }
  }

  dispatch({ id, type, data }) {
    if (id) this.lastEventId = id;
    let body = null;
    try {
      body = data ? JSON.parse(data) : null;
    } catch {
      body = { raw: data };
    }
    this.onEvent({ id, type, body });
  }
}

/**
 * An incremental text/event-stream parser (HTML spec, "event stream
 * interpretation"). feed() any chunk; complete events go to onEvent as
 * {id, type, data}, with id the last event id seen so far.
 */
export class SseParser {
  constructor(onEvent, onRetry) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = "";
    this.data = [];
    this.type = "";
    this.lastId = "";
    this.first = true;
  }

  feed(chunk) {
    this.buffer += chunk;
    if (this.first && this.buffer.length) {
      if (this.buffer.charCodeAt(0) === 0xfeff) this.buffer = this.buffer.slice(1);
      this.first = false;
    }
    const ends = /\r\n|\r|\n/g;
    let start = 0;
    let match;
    while ((match = ends.exec(this.buffer))) {
      // A lone CR at the very end may be the first half of a CRLF: wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, match.index));
      start = match.index + match[0].length;
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === "") {
      this.flush();
      return;
    }
    if (line.startsWith(":")) return; // a comment: the hub's keepalive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id") {
      if (!value.includes("\0")) this.lastId = value;
    } else if (field === "retry") {
      if (/^\d+$/.test(value)) this.onRetry(Number(value));
    }
  }

  flush() {
    if (this.data.length === 0) {
      this.type = "";
      return;
    }
    const event = { id: this.lastId, type: this.type || "message", data: this.data.join("\n") };
    this.data = [];
    this.type = "";
    this.onEvent(event);
  }
}
