// Queue health: what is waiting and how long, what goes out per minute, which
// phones hold jobs, the last hour's throughput and the POST → sent latency.

import { api } from "../api.js";
import { latencyChart, throughputChart } from "../charts.js";
import { formatClock, formatDuration, formatMs, h, keyed, nextId } from "../dom.js";
import { emptyRow, setBadge, showError, viewHeader } from "../ui.js";

export const title = "Queue health";
const POLL_MS = 5000;

function tile(label, key, hint) {
  const id = nextId("stat");
  return h("div", { class: "stat", role: "group", "aria-labelledby": id },
    h("p", { class: "stat-label", id }, label),
    h("p", { class: "stat-value", "data-stat": key }, "—"),
    hint && h("p", { class: "stat-hint" }, hint),
  );
}

function section(titleText, ...children) {
  const id = nextId("sec");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, titleText), ...children);
}

export function mount(root, scope) {
  const updated = h("p", { class: "muted small", "aria-live": "off" });
  const tiles = h("div", { class: "stats" },
    tile("Queued", "queued", "waiting for a phone"),
    tile("Oldest queued", "oldest", "age of the oldest waiting message"),
    tile("Dispatched", "dispatched", "handed to a phone, not yet accepted"),
    tile("Accepted", "accepted", "a phone is sending them"),
    tile("Sent this minute", "sent"),
    tile("Failed this minute", "failed"),
    tile("Median POST → sent", "p50", "last hour"),
    tile("95th percentile", "p95", "last hour"),
  );
  const throughput = h("div", { class: "chart-wrap" });
  const latency = h("div", { class: "chart-wrap" });
  const deviceRows = h("tbody");
  const legend = h("ul", { class: "legend", "aria-hidden": "true" },
    h("li", {}, h("span", { class: "swatch swatch-sent" }), "Sent"),
    h("li", {}, h("span", { class: "swatch swatch-failed" }), "Failed"),
  );

  root.append(
    viewHeader("Queue health", "Refreshed every few seconds and on every event."),
    updated,
    h("section", { "aria-label": "Queue counts" }, tiles),
    section("Throughput, last hour", legend, throughput),
    section("Time from POST to sent, last hour", latency),
    section("Devices",
      h("div", { class: "table-wrap" },
        h("table", { class: "table" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Device"),
            h("th", { scope: "col" }, "Status"),
            h("th", { scope: "col", class: "num" }, "In flight"),
          )),
          deviceRows,
        ),
      ),
    ),
  );

  const set = (key, text) => {
    const el = tiles.querySelector(`[data-stat="${key}"]`);
    if (el.textContent !== String(text)) el.textContent = text;
  };

  let last = null;
  function drawCharts() {
    if (!last) return;
    throughput.replaceChildren(throughputChart(last.throughput, throughput.clientWidth));
    latency.replaceChildren(latencyChart(last.latency, latency.clientWidth));
  }
  let drawnWidth = 0;
  const resized = new ResizeObserver(() => {
    if (Math.abs(throughput.clientWidth - drawnWidth) < 8) return;
    drawnWidth = throughput.clientWidth;
    drawCharts();
  });
  resized.observe(throughput);
  scope.cleanup(() => resized.disconnect());

  async function load() {
    const stats = await api("/stats");
    if (!scope.alive) return;
    const q = stats.queue;
    set("queued", q.queued);
    set("oldest", q.oldest_queued_age_s === null ? "none" : formatDuration(q.oldest_queued_age_s));
    tiles.querySelector('[data-stat="oldest"]').dataset.warn = String((q.oldest_queued_age_s ?? 0) >= 60);
    set("dispatched", q.dispatched);
    set("accepted", q.accepted);
    set("sent", stats.per_minute.sent);
    set("failed", stats.per_minute.failed);
    tiles.querySelector('[data-stat="failed"]').dataset.warn = String(stats.per_minute.failed > 0);
    set("p50", formatMs(stats.latency.p50_ms));
    set("p95", formatMs(stats.latency.p95_ms));
    last = stats;
    drawCharts();
    if (!stats.devices.length) deviceRows.replaceChildren(emptyRow(3, "No phone is paired yet."));
    else {
      deviceRows.querySelector(".empty")?.remove();
      keyed(deviceRows, stats.devices, (d) => d.id, () => h("tr", {},
        h("th", { scope: "row", "data-label": "Device" }),
        h("td", { "data-label": "Status" }),
        h("td", { "data-label": "In flight", class: "num" }),
      ), (row, d) => {
        row.children[0].textContent = d.name;
        setBadge(row.children[1], d.online ? "online" : "offline");
        row.children[2].textContent = d.in_flight;
      });
    }
    updated.textContent = `Updated ${formatClock(stats.at)}`;
  }

  load().catch(showError);
  scope.every(POLL_MS, load);
  scope.on("*", () => scope.soon("stats", load, 400));
}
