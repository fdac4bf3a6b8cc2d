// Inline SVG charts built with DOM calls (no library, no inline styles: the
// geometry is SVG attributes, the colours are classes in style.css).

import { formatHourMinute, formatMs, nextId, s } from "./dom.js";

/** A round, even upper bound for an axis (4, 6, 8, 10, 20, 40…): its half is a whole number. */
function niceMax(value, floor = 4) {
  const v = Math.max(value, floor);
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

function frame(width, height, titleText, descText) {
  const titleId = nextId("chart-title");
  const descId = nextId("chart-desc");
  return s("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
  },
  s("title", { id: titleId }, titleText),
  s("desc", { id: descId }, descText),
  );
}

function yAxis(svg, { left, right, top, bottom, max, ticks = 2 }) {
  for (let i = 0; i <= ticks; i += 1) {
    const value = (max / ticks) * i;
    const y = bottom - ((bottom - top) * i) / ticks;
    svg.append(
      s("line", { class: i === 0 ? "axis" : "grid", x1: left, x2: right, y1: y, y2: y }),
      s("text", { class: "tick", x: left - 6, y: y + 4, "text-anchor": "end" }, String(value)),
    );
  }
}

/**
 * Sent and failed messages per minute over the last hour, as stacked bars.
 * `points`: [{minute, sent, failed}] oldest first (the /stats `throughput`);
 * `width`: the pixels it will take, so text keeps its size at any width.
 */
export function throughputChart(points, width = 640) {
  const W = Math.max(280, Math.round(width));
  const H = 200;
  const left = 40;
  const right = W - 8;
  const top = 12;
  const bottom = H - 28;
  const totalSent = points.reduce((n, p) => n + p.sent, 0);
  const totalFailed = points.reduce((n, p) => n + p.failed, 0);
  const peak = points.reduce((n, p) => Math.max(n, p.sent + p.failed), 0);
  const max = niceMax(peak);
  const svg = frame(
    W,
    H,
    "Messages per minute, last hour",
    `${totalSent} sent and ${totalFailed} failed in the last hour; the busiest minute had ${peak}.`,
  );
  yAxis(svg, { left, right, top, bottom, max });
  const slot = (right - left) / Math.max(points.length, 1);
  const barWidth = Math.max(1, slot * 0.72);
  const scale = (bottom - top) / max;
  points.forEach((p, i) => {
    const x = left + i * slot + (slot - barWidth) / 2;
    const sentHeight = p.sent * scale;
    const failedHeight = p.failed * scale;
    const group = s("g", { class: "bar-group" },
      s("title", {}, `${formatHourMinute(p.minute)}: ${p.sent} sent, ${p.failed} failed`),
      s("rect", { class: "hit", x: left + i * slot, y: top, width: slot, height: bottom - top }),
    );
    if (p.sent) group.append(s("rect", { class: "bar-sent", x, y: bottom - sentHeight, width: barWidth, height: sentHeight }));
    if (p.failed) {
      group.append(s("rect", {
        class: "bar-failed", x, y: bottom - sentHeight - failedHeight, width: barWidth, height: failedHeight,
      }));
    }
    svg.append(group);
  });
  const labels = [[0, "start"], [Math.floor(points.length / 2), "middle"], [points.length - 1, "end"]];
  for (const [i, anchor] of labels) {
    if (!points[i]) continue;
    const x = anchor === "start" ? left : anchor === "end" ? right : left + (i + 0.5) * slot;
    const text = i === points.length - 1 ? "now" : formatHourMinute(points[i].minute);
    svg.append(s("text", { class: "tick", x, y: H - 8, "text-anchor": anchor }, text));
  }
  if (!totalSent && !totalFailed) {
    svg.append(s("text", { class: "chart-empty", x: (left + right) / 2, y: (top + bottom) / 2, "text-anchor": "middle" },
      "Nothing sent in the last hour"));
  }
  return svg;
}

function bucketLabel(le) {
  if (le === null) return "> 60 s";
  return `≤ ${le < 1000 ? `${le} ms` : `${le / 1000} s`}`;
}

/**
 * How long messages took from POST to `sent`, as a histogram.
 * `latency`: {buckets: [{le_ms, count}], p50_ms, p95_ms, count}.
 */
export function latencyChart(latency, width = 640) {
  const W = Math.max(280, Math.round(width));
  const buckets = latency.buckets;
  const left = 40;
  const right = W - 8;
  // Where the bucket labels do not fit side by side, they are slanted.
  const slant = (right - left) / buckets.length < 62;
  const H = slant ? 250 : 220;
  const top = 18;
  const bottom = H - (slant ? 64 : 34);
  const peak = buckets.reduce((n, b) => Math.max(n, b.count), 0);
  const max = niceMax(peak);
  const summary = latency.count
    ? `${latency.count} messages sent in the last hour; median ${formatMs(latency.p50_ms)}, 95th percentile ${formatMs(latency.p95_ms)}.`
    : "No message was sent in the last hour.";
  const svg = frame(W, H, "Time from POST to sent", summary);
  yAxis(svg, { left, right, top, bottom, max });
  const slot = (right - left) / buckets.length;
  const barWidth = slot * 0.7;
  const scale = (bottom - top) / max;
  buckets.forEach((b, i) => {
    const x = left + i * slot + (slot - barWidth) / 2;
    const height = b.count * scale;
    const label = bucketLabel(b.le_ms);
    const group = s("g", { class: "bar-group" }, s("title", {}, `${label}: ${b.count}`));
    if (b.count) {
      group.append(
        s("rect", { class: "bar-latency", x, y: bottom - height, width: barWidth, height }),
        s("text", { class: "bar-value", x: x + barWidth / 2, y: bottom - height - 4, "text-anchor": "middle" }, String(b.count)),
      );
    }
    const lx = x + barWidth / 2;
    group.append(slant
      ? s("text", { class: "tick", x: lx, y: bottom + 14, "text-anchor": "end", transform: `rotate(-40 ${lx} ${bottom + 14})` }, label)
      : s("text", { class: "tick", x: lx, y: H - 14, "text-anchor": "middle" }, label));
    svg.append(group);
  });
  if (!latency.count) {
    svg.append(s("text", { class: "chart-empty", x: (left + right) / 2, y: (top + bottom) / 2, "text-anchor": "middle" },
      "No data yet"));
  }
  return svg;
}
