// Pair a phone: a one-time code with its QR and a countdown; the new phone
// shows up here the moment it pairs and comes online.

import { api } from "../api.js";
import { h, keyed, nextId } from "../dom.js";
import { announce, field, setBadge, submitForm, viewHeader } from "../ui.js";
import { batteryText, deviceStatus } from "./devices.js";

export const title = "Pair a phone";
const POLL_MS = 2000;

/** The API's QR SVG as a real SVG node (parsed as XML: nothing in it can run). */
function qrNode(markup, code) {
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg" || doc.querySelector("parsererror")) return h("p", {}, "The QR code could not be shown.");
  for (const el of svg.querySelectorAll("script, foreignObject")) el.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) {
      if (/^on/i.test(attr.name) || attr.name === "style") el.removeAttribute(attr.name);
    }
  }
  // Scale to the box: a viewBox from the pixel size the API drew it at.
  const w = parseFloat(svg.getAttribute("width"));
  const ht = parseFloat(svg.getAttribute("height"));
  if (w && ht && !svg.hasAttribute("viewBox")) svg.setAttribute("viewBox", `0 0 ${w} ${ht}`);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("class", "qr-svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `QR code for pairing code ${code}`);
  return document.importNode(svg, true);
}

function countdownText(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return `${minutes}:${seconds}`;
}

export function mount(root, scope) {
  const name = field("Device name (optional)", { name: "device_name", maxlength: 80, autocomplete: "off" }, {
    hint: "Shown in the device list; the phone may also send its own.",
  });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Create pairing code");
  const form = h("form", { class: "card stack", "aria-label": "New pairing code" }, name.wrap, submit);
  const result = h("div", { class: "pair-result" });
  const newHeading = nextId("new-devices");
  const newList = h("ul", { class: "new-devices", "aria-labelledby": newHeading });
  const waiting = h("p", { class: "muted", role: "status" });
  const newSection = h("section", { class: "card", "aria-labelledby": newHeading, hidden: true },
    h("h2", { id: newHeading }, "Paired with this code"),
    waiting,
    newList,
  );

  root.append(
    viewHeader("Pair a phone", "Open the relayhub app on the phone, then type the code or scan the QR."),
    h("div", { class: "pair-grid" }, form, result),
    newSection,
  );

  let before = null; // device ids that existed when the code was made
  let countdown = null;

  async function refreshDevices() {
    if (before === null) return;
    const body = await api("/devices");
    if (!scope.alive) return;
    const fresh = body.items.filter((d) => !before.has(d.id));
    if (!fresh.length) return;
    newSection.hidden = false;
    const online = fresh.some((d) => d.online);
    waiting.textContent = online ? "" : "Paired. Waiting for the phone to connect…";
    result.querySelector(".pair-code-box")?.classList.add("is-used");
    const state = result.querySelector(".pair-state");
    if (state && state.dataset.state !== "used") {
      state.dataset.state = "used";
      state.textContent = "This code has been used.";
      result.querySelector("progress")?.setAttribute("hidden", "");
      clearInterval(countdown);
    }
    keyed(newList, fresh, (d) => d.id, (d) => {
      const item = h("li", { class: "new-device" },
        h("span", { class: "new-device-name" }),
        h("span", { class: "new-device-status" }),
        h("span", { class: "muted new-device-battery" }),
        h("a", { href: "#devices" }, "Open devices"),
      );
      announce(`${d.name} paired`);
      return item;
    }, (item, d) => {
      const { status, label } = deviceStatus(d);
      const nameEl = item.querySelector(".new-device-name");
      if (nameEl.textContent !== d.name) nameEl.textContent = d.name;
      const statusEl = item.querySelector(".new-device-status");
      const was = statusEl.firstElementChild?.dataset.status;
      setBadge(statusEl, status, label);
      if (was && was !== status) announce(`${d.name} is now ${label.toLowerCase()}`);
      item.querySelector(".new-device-battery").textContent = d.battery === null ? "" : `Battery ${batteryText(d)}`;
    });
  }

  function showCode(code) {
    clearInterval(countdown);
    const expires = new Date(code.expires_at).getTime();
    const total = Math.max(1, expires - Date.now());
    const timer = h("span", { class: "countdown", role: "timer", "aria-label": "Time left" });
    const progress = h("progress", { max: String(Math.round(total / 1000)), "aria-hidden": "true" });
    const state = h("p", { class: "pair-state", "data-state": "valid" }, "Expires in ", timer);
    const codeId = nextId("code");
    const box = h("section", { class: "card pair-code-box", "aria-labelledby": codeId },
      h("h2", { id: codeId }, "Pairing code"),
      h("p", { class: "pair-code", id: "pairing-code" }, code.pairing_code),
      h("figure", { class: "qr" },
        qrNode(code.qr_svg, code.pairing_code),
        h("figcaption", {}, "Or scan this QR code with the app"),
      ),
      state,
      progress,
      h("p", { class: "muted small" }, "One use only. Making a new code does not cancel this one."),
    );
    const tick = () => {
      const left = expires - Date.now();
      timer.textContent = countdownText(left);
      progress.value = Math.max(0, Math.round(left / 1000));
      if (left <= 0 && state.dataset.state === "valid") {
        state.dataset.state = "expired";
        state.textContent = "This code has expired. Create a new one.";
        box.classList.add("is-expired");
        progress.hidden = true;
        clearInterval(countdown);
        announce("The pairing code expired");
      }
    };
    tick();
    countdown = setInterval(tick, 1000);
    result.replaceChildren(box);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitForm(form, submit, "Could not create a pairing code", async () => {
      const existing = await api("/devices");
      const deviceName = name.input.value.trim();
      const code = await api("/relay/pairing-codes", {
        method: "POST",
        body: deviceName ? { device_name: deviceName } : {},
      });
      if (!scope.alive) return;
      before = new Set(existing.items.map((d) => d.id));
      newList.replaceChildren();
      newSection.hidden = false;
      waiting.textContent = "Waiting for the phone to pair…";
      showCode(code);
      announce(`Pairing code ${code.pairing_code} created`);
    });
  });

  scope.cleanup(() => clearInterval(countdown));
  scope.every(POLL_MS, refreshDevices);
  scope.on("device.*", () => scope.soon("pair-devices", refreshDevices, 50));
}
