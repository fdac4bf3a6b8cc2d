// Messages: the latest messages, filtered by status, kind and number, updated
// live from message.* events; a small form to send a test SMS.

import { api } from "../api.js";
import { ago, h, keyed, nextId, titleCase } from "../dom.js";
import {
  announce, busy, emptyRow, field, setBadge, showError, submitForm, viewHeader,
} from "../ui.js";

export const title = "Messages";
const POLL_MS = 4000;
const PAGE = 50;
export const STATUSES = ["queued", "dispatched", "accepted", "sent", "delivered", "failed", "expired", "cancelled"];
const KINDS = ["sms", "otp", "list"];
const KIND_LABELS = { sms: "SMS", otp: "OTP", list: "List send" };
export const TERMINAL = new Set(["delivered", "failed", "expired", "cancelled"]);
// The hub's waiting reasons (GET /v1/messages answers `waiting` while queued).
/** The hub's lower-case detail as a sentence. */
export function sentence(text) {
  return text ? `${text[0].toUpperCase()}${text.slice(1)}.` : "";
}

export const WAITING = {
  scheduled: "scheduled",
  no_relay_online: "no phone online",
  outside_working_hours: "outside working hours",
  device_limit: "phone's limit reached",
  relays_busy: "phones busy",
  carrier_backoff: "carrier asked to slow down",
};

// Kept across visits of the view (not across reloads).
const filters = { status: "", kind: "", to: "" };

function select(label, name, options, value, labels) {
  const id = nextId("sel");
  const el = h("select", { id, name },
    h("option", { value: "" }, "Any"),
    options.map((o) => h("option", { value: o, selected: o === value }, labels?.[o] || titleCase(o))),
  );
  return { wrap: h("div", { class: "field" }, h("label", { for: id }, label), el), input: el };
}

function sendForm(onSent) {
  const to = field("To", { name: "to", type: "tel", required: true, autocomplete: "off", placeholder: "+998901234567" });
  const text = field("Text", { name: "text", required: true, rows: 2, maxlength: 1000 }, { tag: "textarea" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Send test SMS");
  const id = nextId("send");
  const form = h("form", { class: "send-form", "aria-labelledby": id },
    h("h2", { id }, "Send a test SMS"),
    h("div", { class: "form-row" }, to.wrap, text.wrap),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitForm(form, submit, "The SMS was not queued", async () => {
      const number = to.input.value.trim();
      const sent = await api("/sms/send", { method: "POST", body: { to: number, text: text.input.value } });
      text.input.value = "";
      announce(`Queued ${sent.request_id}`);
      onSent({ ...sent, to: number });
    });
  });
  return form;
}

function createRow(m) {
  const link = h("a", { href: `#message/${encodeURIComponent(m.request_id)}`, class: "mono" }, m.request_id);
  return h("tr", {},
    h("th", { scope: "row", "data-label": "Message" }, link),
    h("td", { "data-label": "Queued", "data-field": "queued" }),
    h("td", { "data-label": "To", "data-field": "to", class: "mono" }),
    h("td", { "data-label": "Status", class: "message-status" },
      h("span", { "data-field": "status" }),
      h("span", { "data-field": "waiting", class: "waiting-reason muted small" }),
    ),
    h("td", { "data-label": "Kind", "data-field": "kind" }),
    h("td", { "data-label": "Device", "data-field": "device" }),
    h("td", { "data-label": "Attempts", "data-field": "attempts", class: "num" }),
    h("td", { "data-label": "Error", "data-field": "error", class: "error-cell" }),
  );
}

function updateRow(row, m) {
  row.message = m;
  row.dataset.status = m.status;
  const cell = (key) => row.querySelector(`[data-field="${key}"]`);
  const set = (key, text) => {
    const el = cell(key);
    if (el.textContent !== String(text)) el.textContent = text;
  };
  const queued = cell("queued");
  if (queued.firstElementChild?.getAttribute("datetime") !== m.queued_at) queued.replaceChildren(ago(m.queued_at));
  set("to", m.to);
  setBadge(cell("status"), m.status);
  // Why a queued message has not gone yet, in a word; the hub's full sentence on hover.
  const waiting = cell("waiting");
  set("waiting", m.waiting ? ` Waiting: ${WAITING[m.waiting.reason] || m.waiting.reason}` : "");
  if (m.waiting) waiting.title = m.waiting.detail;
  else waiting.removeAttribute("title");
  set("kind", KIND_LABELS[m.kind] || m.kind || "SMS");
  set("device", m.device_name || "—");
  set("attempts", m.attempts);
  set("error", m.error ? `${m.error.code}: ${m.error.message}` : "");
}

export function mount(root, scope) {
  const rows = h("tbody");
  const more = h("button", { type: "button", class: "button", hidden: true }, "Load older messages");
  const count = h("p", { class: "muted small", "aria-live": "off" });
  // Shown while messages wait because no phone (or not the one they name) is online.
  const offlineTitle = h("p", { class: "notice-title" });
  const offlineDetail = h("p", {});
  const offlineNote = h("div", { class: "notice", role: "note", id: "waiting-note", hidden: true },
    offlineTitle, offlineDetail);
  const status = select("Status", "status", STATUSES, filters.status);
  const kind = select("Kind", "kind", KINDS, filters.kind, KIND_LABELS);
  const to = field("To", { name: "to", type: "search", value: filters.to, autocomplete: "off", placeholder: "+998901234567" });
  const filterForm = h("form", { class: "filters", role: "search", "aria-label": "Filter messages" },
    status.wrap, kind.wrap, to.wrap,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "button" }, "Apply filters"),
      h("button", { type: "reset", class: "button button-quiet" }, "Clear"),
    ),
  );
  const tableId = nextId("messages");
  root.append(
    viewHeader("Messages", "Newest first; statuses change live as phones report."),
    h("div", { class: "card" }, sendForm((sent) => {
      // Show it right away, then let the list catch up.
      if (!filters.status && !filters.kind && !filters.to) {
        const now = new Date().toISOString();
        loaded = [{ request_id: sent.request_id, status: sent.status, to: sent.to, kind: "sms", queued_at: sent.queued_at || now,
          attempts: 0, device_name: null, error: null, waiting: null }, ...loaded.filter((m) => m.request_id !== sent.request_id)];
        draw();
      }
      scope.soon("messages", load, 50);
    })),
    h("section", { class: "card", "aria-labelledby": tableId },
      h("h2", { id: tableId }, "Latest messages"),
      offlineNote,
      filterForm,
      count,
      h("div", { class: "table-wrap" },
        h("table", { class: "table messages-table" },
          h("thead", {}, h("tr", {},
            ["Message", "Queued", "To", "Status", "Kind", "Device", "Attempts", "Error"].map((c) =>
              h("th", { scope: "col", class: c === "Attempts" ? "num" : null }, c)),
          )),
          rows,
        ),
      ),
      more,
    ),
  );

  let loaded = [];
  let cursor = null;
  let wanted = PAGE; // how many of the newest to keep fresh (grows with "load older")

  function draw() {
    if (!loaded.length) {
      rows.replaceChildren(emptyRow(8, filters.status || filters.kind || filters.to ? "No message matches these filters." : "No message yet."));
    } else {
      rows.querySelector(".empty")?.remove();
      keyed(rows, loaded, (m) => m.request_id, createRow, updateRow);
    }
    drawOfflineNote();
    more.hidden = !cursor;
    count.textContent = loaded.length ? `Showing ${loaded.length} message${loaded.length === 1 ? "" : "s"}` : "";
  }

  function drawOfflineNote() {
    const waiting = loaded.filter((m) => m.status === "queued" && m.waiting?.reason === "no_relay_online");
    offlineNote.hidden = !waiting.length;
    if (!waiting.length) return;
    const n = waiting.length;
    offlineTitle.textContent = `${n} queued message${n === 1 ? "" : "s"} wait${n === 1 ? "s" : ""} for a phone to come online`;
    offlineDetail.textContent = sentence(waiting[0].waiting.detail);
  }

  async function load() {
    const body = await api("/messages", { query: { ...filters, limit: Math.min(wanted, 500) } });
    if (!scope.alive) return;
    loaded = body.items;
    cursor = body.next_cursor;
    draw();
  }

  more.addEventListener("click", () => busy(more, async () => {
    try {
      const body = await api("/messages", { query: { ...filters, limit: PAGE, cursor } });
      loaded = [...loaded, ...body.items.filter((m) => !loaded.some((x) => x.request_id === m.request_id))];
      cursor = body.next_cursor;
      wanted = loaded.length;
      draw();
    } catch (error) {
      showError(error);
    }
  }));

  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    filters.status = status.input.value;
    filters.kind = kind.input.value;
    filters.to = to.input.value.replace(/[\s().-]/g, "");
    wanted = PAGE;
    load().catch((error) => showError(error, "Could not filter the messages"));
  });
  filterForm.addEventListener("reset", () => {
    filters.status = filters.kind = filters.to = "";
    wanted = PAGE;
    setTimeout(() => load().catch(showError));
  });

  // An event updates its row at once; the list is then re-read (a status
  // filter may now include or exclude it).
  scope.on("message.*", ({ body }) => {
    const data = body?.data;
    if (!data?.request_id) return;
    const row = [...rows.children].find((r) => r.dataset.key === data.request_id);
    if (row?.message && !(TERMINAL.has(row.message.status) && !TERMINAL.has(data.status))) {
      updateRow(row, {
        ...row.message,
        status: data.status,
        attempts: data.attempts ?? row.message.attempts,
        error: data.error ?? null,
        waiting: data.status === "queued" ? row.message.waiting : null,
      });
    }
    scope.soon("messages", load, 300);
  });
  scope.every(POLL_MS, load);
  load().catch(showError);
}
