// Launch readiness: the account's go-live checks, each with what to do.

import { api } from "../api.js";
import { formatClock, h, titleCase } from "../dom.js";
import { badge, showError, viewHeader } from "../ui.js";

export const title = "Readiness";
const POLL_MS = 10000;

const NAMES = {
  token: "Access token",
  subscription: "Subscription",
  device_paired: "A phone is paired",
  device_online: "A phone is online",
  message_delivered: "A message was delivered",
  webhook_answers: "A webhook endpoint answers",
  real_phone: "A real phone is online",
  https: "Served over https",
  private_webhook_targets: "Webhooks stay off private networks",
};

function checkItem(c) {
  // A failed optional check does not hold the launch back, but it is shown as a warning.
  const status = c.ok ? "pass" : c.optional ? "optional" : "fail";
  const label = c.ok ? "Passed" : c.optional ? "Warning" : "To do";
  return h("li", { class: "check-item", "data-check": c.name, "data-status": status },
    h("div", { class: "check-head" },
      badge(status, label),
      h("h3", {}, NAMES[c.name] || titleCase(c.name)),
    ),
    h("p", { class: "check-detail" }, c.detail),
    c.fix && h("p", { class: "check-fix" }, h("strong", {}, "Fix: "), c.fix),
  );
}

export function mount(root, scope) {
  const overall = h("div", { class: "readiness-overall", role: "status" });
  const list = h("ul", { class: "check-list", "aria-label": "Checks" });
  const updated = h("p", { class: "muted small" });
  const refresh = h("button", { type: "button", class: "button" }, "Check again");
  root.append(
    viewHeader("Launch readiness", "What is still missing before going live.", refresh),
    overall,
    list,
    updated,
  );

  async function load() {
    const body = await api("/launch/readiness");
    if (!scope.alive) return;
    const warnings = body.checks.filter((c) => !c.ok && c.optional).length;
    const todo = body.checks.filter((c) => !c.ok && !c.optional).length;
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    let text = body.ready ? "Ready to go live" : `Not ready yet: ${plural(todo, "check")} to pass`;
    if (warnings) text += `${body.ready ? "," : ";"} ${plural(warnings, "warning")} below`;
    if (overall.dataset.text !== text) {
      overall.replaceChildren(badge(body.ready ? "ready" : "fail", body.ready ? "Ready" : "Not ready"), h("span", {}, text));
      overall.dataset.ready = String(body.ready);
      overall.dataset.text = text;
    }
    list.replaceChildren(...body.checks.map(checkItem));
    updated.textContent = `Checked at ${formatClock(new Date().toISOString())}`;
  }

  refresh.addEventListener("click", () => load().catch(showError));
  load().catch(showError);
  scope.every(POLL_MS, load);
  scope.on("*", () => scope.soon("readiness", load, 1000));
}
