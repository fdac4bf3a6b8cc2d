// One message: its status, the phone, attempts, error reason, and every
// transition it went through (GET /v1/messages/status?request_id=).

import { api } from "../api.js";
import { formatAbsolute, formatClock, formatMs, h, nextId, titleCase } from "../dom.js";
import { badge, setBadge, showError, viewHeader } from "../ui.js";
import { TERMINAL, WAITING, sentence } from "./messages.js";

export const title = "Message";
export const nav = "messages";
const POLL_MS = 4000;
const TIMES = [
  ["Queued", "queued_at"],
  ["Dispatched", "dispatched_at"],
  ["Accepted", "accepted_at"],
  ["Sent", "sent_at"],
  ["Delivered", "delivered_at"],
  ["Failed", "failed_at"],
  ["Expires", "expires_at"],
];

function elapsed(from, to) {
  if (!from || !to) return null;
  return new Date(to).getTime() - new Date(from).getTime();
}

function facts(m) {
  const rows = [
    ["Status", badge(m.status)],
    ["To", h("span", { class: "mono" }, m.to)],
    ["Kind", m.kind === "otp" ? "OTP" : m.kind === "list" ? "List send" : "SMS"],
    // An OTP's text holds the code: the hub never shows it.
    ["Text", m.kind === "otp" ? h("span", { class: "muted" }, "verification code (hidden)")
      : h("span", { class: "message-text" }, m.text ?? "—")],
    ["Device", m.device_name ? `${m.device_name} (${m.device_id})` : "not handed to a phone yet"],
    ["Attempts", String(m.attempts)],
    ["Parts", `${m.parts}${m.encoding ? ` (${m.encoding})` : ""}`],
  ];
  for (const [label, key] of TIMES) {
    if (m[key]) rows.push([label, h("time", { datetime: m[key], title: formatAbsolute(m[key]) }, formatAbsolute(m[key]))]);
  }
  const toSent = elapsed(m.queued_at, m.sent_at);
  if (toSent !== null) rows.push(["POST → sent", formatMs(toSent)]);
  return h("dl", { class: "facts facts-wide" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function history(items) {
  if (!items.length) return h("p", { class: "muted" }, "No transition recorded yet.");
  return h("ol", { class: "timeline" }, items.map((e) =>
    h("li", { class: "timeline-item", "data-state": e.state },
      h("div", { class: "timeline-head" },
        badge(e.state),
        h("time", { datetime: e.at, title: formatAbsolute(e.at) }, formatClock(e.at)),
      ),
      h("p", { class: "timeline-cause" }, titleCase(e.cause || "")),
      e.device_id && h("p", { class: "muted small" }, `Device ${e.device_id}`),
      e.detail && h("p", { class: "timeline-detail" }, e.detail),
    )));
}

export function mount(root, scope, _app, requestId) {
  const body = h("div", { class: "message-detail" }, h("p", { class: "muted" }, "Loading…"));
  const statusSlot = h("span", { class: "header-status" });
  root.append(
    h("p", { class: "back" }, h("a", { href: "#messages" }, "← All messages")),
    viewHeader("Message", null, statusSlot),
    h("p", { class: "mono muted", id: "message-id" }, requestId || ""),
    body,
  );
  if (!requestId) {
    body.replaceChildren(h("p", {}, "No message chosen."));
    return;
  }

  let last = null;
  async function load() {
    const m = await api("/messages/status", { query: { request_id: requestId } });
    if (!scope.alive) return;
    last = m;
    setBadge(statusSlot, m.status);
    const summaryId = nextId("summary");
    const historyId = nextId("history");
    const parts = [
      h("section", { class: "card", "aria-labelledby": summaryId }, h("h2", { id: summaryId }, "Summary"), facts(m)),
      h("section", { class: "card", "aria-labelledby": historyId },
        h("h2", { id: historyId }, "History"),
        history(m.history || []),
      ),
    ];
    if (m.waiting) {
      const reason = WAITING[m.waiting.reason] || m.waiting.reason;
      parts.unshift(h("div", { class: "notice", role: "note", id: "waiting-note" },
        h("p", { class: "notice-title" }, `Waiting: ${reason}`),
        h("p", {}, sentence(m.waiting.detail)),
        m.waiting.until && h("p", { class: "muted small" }, "It can go from ",
          h("time", { datetime: m.waiting.until, title: formatAbsolute(m.waiting.until) }, formatClock(m.waiting.until)), "."),
      ));
    }
    if (m.error) {
      parts.unshift(h("div", { class: "notice notice-bad", role: "note" },
        h("p", { class: "notice-title" }, `Error: ${m.error.code}`),
        h("p", {}, m.error.message || "No reason given."),
      ));
    }
    body.replaceChildren(...parts);
  }

  load().catch((error) => {
    body.replaceChildren(h("p", {}, "This message could not be loaded."));
    showError(error);
  });
  scope.every(POLL_MS, async () => {
    if (!last || !TERMINAL.has(last.status)) await load();
  });
  scope.on("message.*", ({ body: event }) => {
    if (event?.data?.request_id === requestId) scope.soon("message", load, 100);
  });
}
