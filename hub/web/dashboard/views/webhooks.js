// Webhooks: endpoints (create with the secret shown once, enable/disable,
// delete) and the attempts log with redelivery.

import { api } from "../api.js";
import { ago, formatAbsolute, formatClock, formatMs, h, keyed, nextId } from "../dom.js";
import {
  announce, busy, confirmAction, emptyRow, field, secretBox, setBadge, showError, submitForm, viewHeader,
} from "../ui.js";

export const title = "Webhooks";
export const EVENT_TYPES = [
  "message.sent", "message.delivered", "message.failed", "message.cancelled", "message.received",
  "otp.verified", "device.online", "device.offline",
];
const POLL_MS = 5000;
const PENDING_POLL_MS = 1500;

function eventsFieldset() {
  const legendId = nextId("events");
  return h("fieldset", { class: "checks", "aria-describedby": `${legendId}-hint` },
    h("legend", { id: legendId }, "Events"),
    h("p", { class: "hint", id: `${legendId}-hint` }, "The endpoint gets only the events ticked here."),
    h("div", { class: "check-grid" }, EVENT_TYPES.map((type) => {
      const id = nextId("evt");
      return h("div", { class: "check" },
        h("input", { type: "checkbox", id, name: "events", value: type, checked: true }),
        h("label", { for: id }, type));
    })),
  );
}

function lastAttempt(delivery) {
  const a = delivery.attempts[delivery.attempts.length - 1];
  if (!a) return "not tried yet";
  const answer = a.status_code ? `HTTP ${a.status_code}` : a.error || "no answer";
  return `${answer}${a.latency_ms !== null && a.latency_ms !== undefined ? ` in ${formatMs(a.latency_ms)}` : ""}`;
}

function attemptsDetails(delivery) {
  if (!delivery.attempts.length) return h("span", { class: "muted" }, "0");
  return h("details", { class: "attempts" },
    h("summary", {}, `${delivery.attempt_count} attempt${delivery.attempt_count === 1 ? "" : "s"}`),
    h("ol", {}, delivery.attempts.map((a) => h("li", {},
      h("time", { datetime: a.at, title: formatAbsolute(a.at) }, formatClock(a.at)), " · ",
      a.status_code ? `HTTP ${a.status_code}` : "no answer",
      a.latency_ms !== null && a.latency_ms !== undefined ? ` · ${formatMs(a.latency_ms)}` : "",
      a.error ? h("span", { class: "error-text" }, ` · ${a.error}`) : "",
      a.response_excerpt ? h("pre", { class: "excerpt" }, a.response_excerpt) : "",
    ))),
  );
}

/** Which event an attempt carried and, for a message's event, which message. */
function eventCell(d) {
  return [
    h("span", { class: "mono" }, d.event_type),
    d.request_id
      ? h("span", { class: "small block", "data-field": "request" }, "Message ",
        h("a", { href: `#message/${encodeURIComponent(d.request_id)}`, class: "mono" }, d.request_id))
      : null,
    h("span", { class: "muted small block mono", "data-field": "event-id", title: "The webhook-id header" }, d.event_id),
    h("span", { class: "muted small block" }, d.redelivery_of ? `redelivery · ${formatClock(d.created_at)}` : formatClock(d.created_at)),
  ].filter(Boolean); // replaceChildren() would print a null
}

export function mount(root, scope) {
  // --- create form ---
  const url = field("URL", { name: "url", type: "url", required: true, placeholder: "https://api.example.com/hooks/relayhub", autocomplete: "off" });
  const description = field("Description (optional)", { name: "description", maxlength: 500, autocomplete: "off" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Add endpoint");
  const formId = nextId("new-hook");
  const form = h("form", { class: "stack", "aria-labelledby": formId },
    h("h2", { id: formId }, "Add an endpoint"),
    url.wrap, description.wrap, eventsFieldset(),
    h("div", { class: "actions" }, submit),
  );
  const secretSlot = h("div", { class: "secret-slot" });

  // --- endpoints ---
  const endpointRows = h("tbody");
  const endpointsId = nextId("endpoints");

  // --- attempts log ---
  const deliveryRows = h("tbody");
  const logId = nextId("log");
  const statusFilter = h("select", { id: `${logId}-status`, name: "status" },
    h("option", { value: "" }, "Any"),
    ["pending", "succeeded", "failed"].map((s) => h("option", { value: s }, s.charAt(0).toUpperCase() + s.slice(1))),
  );

  root.append(
    viewHeader("Webhooks", "The hub POSTs each event to your endpoints, signed, and retries for about three days."),
    h("div", { class: "card" }, form),
    secretSlot,
    h("section", { class: "card", "aria-labelledby": endpointsId },
      h("h2", { id: endpointsId }, "Endpoints"),
      h("div", { class: "table-wrap" }, h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["URL", "Events", "Status", "Created", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        endpointRows,
      )),
    ),
    h("section", { class: "card", "aria-labelledby": logId },
      h("h2", { id: logId }, "Attempts log"),
      h("div", { class: "filters" },
        h("div", { class: "field" }, h("label", { for: `${logId}-status` }, "Status"), statusFilter)),
      h("div", { class: "table-wrap" }, h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["Event", "Endpoint", "Status", "Attempts", "Last answer", "Next try", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        deliveryRows,
      )),
    ),
  );

  let endpoints = new Map();

  async function loadEndpoints() {
    const body = await api("/webhooks");
    if (!scope.alive) return;
    endpoints = new Map(body.items.map((e) => [e.id, e]));
    if (!body.items.length) {
      endpointRows.replaceChildren(emptyRow(5, "No endpoint yet."));
      return;
    }
    endpointRows.querySelector(".empty")?.remove();
    keyed(endpointRows, body.items, (e) => e.id, (e) => {
      const toggle = h("button", { type: "button", class: "button", "data-action": "toggle" });
      const remove = h("button", { type: "button", class: "button button-danger-quiet", "data-action": "delete" }, "Delete");
      const row = h("tr", {},
        h("th", { scope: "row", "data-label": "URL", class: "url-cell" }),
        h("td", { "data-label": "Events", "data-field": "events" }),
        h("td", { "data-label": "Status", "data-field": "status" }),
        h("td", { "data-label": "Created", "data-field": "created" }),
        h("td", { "data-label": "Actions" }, h("div", { class: "actions" }, toggle, remove)),
      );
      toggle.addEventListener("click", () => toggleEndpoint(row.endpoint, toggle));
      remove.addEventListener("click", () => deleteEndpoint(row.endpoint));
      return row;
    }, (row, e) => {
      row.endpoint = e;
      row.querySelector(".url-cell").textContent = e.url;
      row.querySelector('[data-field="events"]').textContent = e.events.length === EVENT_TYPES.length ? "all events" : e.events.join(", ");
      const statusCell = row.querySelector('[data-field="status"]');
      setBadge(statusCell, e.enabled ? "enabled" : "disabled");
      statusCell.querySelector(".reason")?.remove();
      if (!e.enabled && e.disabled_reason) statusCell.append(h("span", { class: "reason muted small" }, e.disabled_reason));
      const created = row.querySelector('[data-field="created"]');
      if (!created.firstChild) created.append(ago(e.created_at));
      row.querySelector('[data-action="toggle"]').textContent = e.enabled ? "Disable" : "Enable";
      for (const b of row.querySelectorAll("button")) b.setAttribute("aria-label", `${b.textContent} ${e.url}`);
    });
  }

  // While a delivery is on its way, look again soon: a redelivery's outcome
  // comes with no event to wait on.
  function chasePending() {
    if (deliveryRows.querySelector('tr[data-status="pending"]')) scope.soon("pending", loadDeliveries, PENDING_POLL_MS);
  }

  async function loadDeliveries() {
    const body = await api("/webhooks/deliveries", { query: { status: statusFilter.value, limit: 50 } });
    if (!scope.alive) return;
    queueMicrotask(chasePending); // runs once the rows below are drawn
    if (!body.items.length) {
      deliveryRows.replaceChildren(emptyRow(7, statusFilter.value ? "No delivery with this status." : "No delivery yet."));
      return;
    }
    deliveryRows.querySelector(".empty")?.remove();
    keyed(deliveryRows, body.items, (d) => d.id, (d) => {
      const redeliver = h("button", { type: "button", class: "button", "data-action": "redeliver" }, "Redeliver");
      const row = h("tr", {},
        h("th", { scope: "row", "data-label": "Event", "data-field": "event" }),
        h("td", { "data-label": "Endpoint", "data-field": "endpoint", class: "url-cell" }),
        h("td", { "data-label": "Status", "data-field": "status" }),
        h("td", { "data-label": "Attempts", "data-field": "attempts" }),
        h("td", { "data-label": "Last answer", "data-field": "last" }),
        h("td", { "data-label": "Next try", "data-field": "next" }),
        h("td", { "data-label": "Actions" }, redeliver),
      );
      redeliver.addEventListener("click", () => redeliverOne(row.delivery, redeliver));
      return row;
    }, (row, d) => {
      const changed = !row.delivery || row.delivery.updated_at !== d.updated_at || row.delivery.status !== d.status;
      row.delivery = d;
      row.dataset.status = d.status;
      if (!changed) return;
      row.querySelector('[data-field="event"]').replaceChildren(...eventCell(d));
      row.querySelector('[data-field="endpoint"]').textContent = endpoints.get(d.endpoint_id)?.url || d.endpoint_id;
      setBadge(row.querySelector('[data-field="status"]'), d.status);
      // Keep an open <details> open across refreshes.
      const cell = row.querySelector('[data-field="attempts"]');
      const wasOpen = cell.querySelector("details")?.open;
      const details = attemptsDetails(d);
      if (wasOpen && details.tagName === "DETAILS") details.open = true;
      cell.replaceChildren(details);
      row.querySelector('[data-field="last"]').textContent = lastAttempt(d);
      row.querySelector('[data-field="next"]').replaceChildren(d.status === "pending" && d.next_attempt_at ? ago(d.next_attempt_at) : h("span", { class: "muted" }, "—"));
      row.querySelector('[data-action="redeliver"]').setAttribute("aria-label", `Redeliver ${d.event_type} (${d.id})`);
    });
  }

  async function toggleEndpoint(e, button) {
    await busy(button, async () => {
      try {
        const updated = await api(`/webhooks/${e.id}`, { method: "PATCH", body: { enabled: !e.enabled } });
        announce(`${updated.url} ${updated.enabled ? "enabled" : "disabled"}`);
        await loadEndpoints();
      } catch (error) {
        showError(error, "Could not change the endpoint");
      }
    });
  }

  async function deleteEndpoint(e) {
    const sure = await confirmAction({
      title: "Delete this endpoint?",
      text: `${e.url} gets no more events; deliveries still pending to it are dropped.`,
      confirm: "Delete endpoint",
    });
    if (!sure) return;
    try {
      await api(`/webhooks/${e.id}`, { method: "DELETE" });
      announce(`Deleted ${e.url}`);
      await loadEndpoints();
      await loadDeliveries();
    } catch (error) {
      showError(error, "Could not delete the endpoint");
    }
  }

  async function redeliverOne(d, button) {
    await busy(button, async () => {
      try {
        const fresh = await api(`/webhooks/deliveries/${d.id}/redeliver`, { method: "POST" });
        announce(`Redelivery of ${d.event_type} queued (${fresh.id})`);
        await loadDeliveries();
      } catch (error) {
        showError(error, "Could not redeliver");
      }
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const events = [...form.querySelectorAll('input[name="events"]:checked')].map((i) => i.value);
    submitForm(form, submit, "The endpoint was not added", async () => {
      const created = await api("/webhooks", {
        method: "POST",
        body: { url: url.input.value.trim(), description: description.input.value.trim(), events },
      });
      form.reset();
      const box = secretBox({
        title: `Signing secret for ${created.url}`,
        secret: created.secret,
        note: "Copy it now: it is shown only once. Your receiver checks the webhook-signature header with it.",
      });
      secretSlot.replaceChildren(box);
      box.focus();
      announce("Endpoint added; copy its signing secret now");
      await loadEndpoints().catch(showError); // the endpoint exists: a failed refresh is another error
    });
  });

  statusFilter.addEventListener("change", () => loadDeliveries().catch(showError));

  (async () => {
    await loadEndpoints();
    await loadDeliveries();
  })().catch(showError);
  scope.every(POLL_MS, async () => {
    await loadEndpoints();
    await loadDeliveries();
  });
  scope.on("*", () => scope.soon("deliveries", loadDeliveries, 800));
  scope.cleanup(() => secretSlot.replaceChildren());
}
