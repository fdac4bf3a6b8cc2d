// Devices: every paired phone with its live state; rename, disable/enable, revoke.
// Refreshed on device.* events and polled every few seconds, because
// `device.offline` only comes after the offline grace.

import { api } from "../api.js";
import { h, keyed, nextId, setAgo } from "../dom.js";
import { announce, busy, confirmAction, setBadge, showError, viewHeader } from "../ui.js";

export const title = "Devices";
const POLL_MS = 3000;

const SIGNAL_WORDS = ["no signal", "poor", "fair", "good", "excellent"];

export function batteryText(d) {
  if (d.battery === null || d.battery === undefined) return "—";
  return `${d.battery} %${d.charging ? ", charging" : ""}`;
}

export function signalText(d) {
  if (d.signal === null || d.signal === undefined) return "—";
  return `${d.signal} of 4 (${SIGNAL_WORDS[d.signal] || "unknown"})`;
}

export function simsText(d) {
  if (!d.sims?.length) return "—";
  return d.sims
    .map((sim) => [`SIM ${sim.slot + 1}`, sim.carrier, sim.number].filter(Boolean).join(" · "))
    .join("; ");
}

/** The status of a device as {status, label}: disabled wins over online state. */
export function deviceStatus(d) {
  if (d.disabled) return { status: "disabled", label: "Disabled" };
  return d.online ? { status: "online", label: "Online" } : { status: "offline", label: "Offline" };
}

function fact(term, key) {
  return [h("dt", {}, term), h("dd", { "data-field": key })];
}

function createCard(d, actions) {
  const headingId = nextId("device");
  const card = h("article", { class: "card device", "aria-labelledby": headingId },
    h("header", { class: "device-head" },
      h("h2", { id: headingId, class: "device-name" }),
      h("span", { class: "device-status", "data-field": "status" }),
    ),
    h("dl", { class: "facts" },
      fact("Battery", "battery"),
      fact("Signal", "signal"),
      fact("Network", "network"),
      fact("Last heartbeat", "heartbeat"),
      fact("In flight", "in_flight"),
      fact("Sent today", "sent_today"),
      fact("SIMs", "sims"),
      fact("Model", "model"),
    ),
    h("div", { class: "rename-slot" }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "button", "data-action": "rename", onclick: () => actions.rename(card) }, "Rename"),
      h("button", { type: "button", class: "button", "data-action": "toggle", onclick: () => actions.toggle(card) }),
      h("button", { type: "button", class: "button button-danger-quiet", "data-action": "revoke", onclick: () => actions.revoke(card) }, "Revoke"),
    ),
  );
  return card;
}

function updateCard(card, d) {
  card.device = d;
  const set = (key, text) => {
    const el = card.querySelector(`[data-field="${key}"]`);
    if (el.textContent !== String(text)) el.textContent = text;
  };
  const name = card.querySelector(".device-name");
  if (name.textContent !== d.name) name.textContent = d.name;
  const { status, label } = deviceStatus(d);
  card.dataset.status = status;
  setBadge(card.querySelector('[data-field="status"]'), status, label);
  set("battery", batteryText(d));
  set("signal", signalText(d));
  set("network", d.network || "—");
  const heartbeat = card.querySelector('[data-field="heartbeat"]');
  const term = d.online ? "Last heartbeat" : "Last seen";
  if (heartbeat.previousElementSibling.textContent !== term) heartbeat.previousElementSibling.textContent = term;
  if (d.online) setAgo(heartbeat, d.last_heartbeat_at || d.connected_at, "waiting for the first one");
  else setAgo(heartbeat, d.last_seen_at, "never connected");
  set("in_flight", d.in_flight);
  set("sent_today", d.sent_today);
  set("sims", simsText(d));
  set("model", [d.model, d.app_version && `app ${d.app_version}`].filter(Boolean).join(", ") || "—");
  const toggle = card.querySelector('[data-action="toggle"]');
  const word = d.disabled ? "Enable" : "Disable";
  if (toggle.textContent !== word) toggle.textContent = word;
  for (const button of card.querySelectorAll(".actions button")) button.setAttribute("aria-describedby", card.getAttribute("aria-labelledby"));
}

export function mount(root, scope) {
  const list = h("div", { class: "device-list", "aria-live": "off" });
  const empty = h("div", { class: "card empty-state", hidden: true },
    h("p", {}, "No phone is paired yet."),
    h("a", { href: "#pair", class: "button button-primary" }, "Pair a phone"),
  );
  const summary = h("p", { class: "muted", id: "device-summary" });
  root.append(
    viewHeader("Devices", "The Android phones that relay your SMS.",
      h("a", { href: "#pair", class: "button button-primary" }, "Pair a phone")),
    summary,
    empty,
    list,
  );

  let known = null; // id → status label, to announce changes
  async function load() {
    const body = await api("/devices");
    if (!scope.alive) return;
    const items = body.items;
    empty.hidden = items.length > 0;
    const online = items.filter((d) => d.online && !d.disabled).length;
    summary.textContent = items.length ? `${items.length} paired, ${online} online` : "";
    if (known) {
      for (const d of items) {
        const label = deviceStatus(d).label;
        const before = known.get(d.id);
        if (before && before !== label) announce(`${d.name} is now ${label.toLowerCase()}`);
        else if (!before) announce(`${d.name} was paired`);
      }
    }
    known = new Map(items.map((d) => [d.id, deviceStatus(d).label]));
    keyed(list, items, (d) => d.id, (d) => createCard(d, actions), updateCard);
  }

  const actions = {
    rename(card) {
      const slot = card.querySelector(".rename-slot");
      if (slot.firstChild) {
        slot.querySelector("input")?.focus();
        return;
      }
      const id = nextId("rename");
      const input = h("input", { id, name: "name", value: card.device.name, maxlength: 80, required: true });
      const form = h("form", { class: "inline-form" },
        h("label", { for: id }, `New name for ${card.device.name}`),
        h("div", { class: "inline-row" },
          input,
          h("button", { type: "submit", class: "button button-primary" }, "Save"),
          h("button", { type: "button", class: "button", onclick: () => { slot.replaceChildren(); card.querySelector('[data-action="rename"]').focus(); } }, "Cancel"),
        ),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const name = input.value.trim();
        if (!name) return;
        await busy(form.querySelector("[type=submit]"), async () => {
          try {
            const updated = await api(`/devices/${card.device.id}`, { method: "PATCH", body: { name } });
            slot.replaceChildren();
            updateCard(card, updated);
            announce(`Renamed to ${updated.name}`);
            card.querySelector('[data-action="rename"]').focus();
          } catch (error) {
            showError(error, "Could not rename the device");
          }
        });
      });
      slot.replaceChildren(form);
      input.select();
    },

    async toggle(card) {
      const d = card.device;
      const disabled = !d.disabled;
      if (disabled) {
        const sure = await confirmAction({
          title: `Disable ${d.name}?`,
          text: "The phone is disconnected and gets no new messages until you enable it again.",
          confirm: "Disable",
        });
        if (!sure) return;
      }
      try {
        const updated = await api(`/devices/${d.id}`, { method: "PATCH", body: { disabled } });
        updateCard(card, updated);
        announce(`${updated.name} ${disabled ? "disabled" : "enabled"}`);
      } catch (error) {
        showError(error, "Could not change the device");
      }
    },

    async revoke(card) {
      const d = card.device;
      const sure = await confirmAction({
        title: `Revoke ${d.name}?`,
        text: "Its device token stops working at once; the phone must be paired again to relay SMS.",
        confirm: "Revoke device",
      });
      if (!sure) return;
      try {
        await api(`/devices/${d.id}`, { method: "DELETE" });
        card.remove();
        known?.delete(d.id);
        announce(`${d.name} revoked`);
        await load();
      } catch (error) {
        showError(error, "Could not revoke the device");
      }
    },
  };

  load().catch(showError);
  scope.every(POLL_MS, load);
  scope.on("device.*", () => scope.soon("devices", load, 100));
  // A message changing state changes in-flight and sent-today counts.
  scope.on("message.*", () => scope.soon("devices", load, 500));
}
