// Shared pieces of the interface: the alert and status regions, the confirm
// dialog, status badges, "shown once" secrets, form fields, and the Scope that
// ties a view's timers and event listeners to its lifetime.

import { ApiError } from "./api.js";
import { h, nextId, titleCase } from "./dom.js";

// --- alerts and announcements ----------------------------------------------

const alerts = () => document.getElementById("alerts");
const announcer = () => document.getElementById("announcer");

/**
 * Show an error in the alert region; an ApiError shows its problem `detail`.
 * `form`: the form whose submit failed, so its next success can take the alert back.
 */
export function showError(error, context = "", form = null) {
  if (error?.name === "AbortError") return;
  const detail = error instanceof ApiError ? error.message : String(error?.message || error);
  const title = context || (error instanceof ApiError ? titleCase(error.code) : "Something went wrong");
  const meta = error instanceof ApiError && error.requestId ? `Request ${error.requestId}` : null;
  const box = h(
    "div",
    { class: "alert alert-error" },
    h("div", { class: "alert-body" },
      h("p", { class: "alert-title" }, title),
      h("p", { class: "alert-detail" }, detail),
      meta && h("p", { class: "alert-meta" }, meta),
    ),
    h("button", { type: "button", class: "button button-quiet alert-close", onclick: () => box.remove() }, "Dismiss"),
  );
  box.form = form;
  // One alert per distinct message: a poll that keeps failing does not pile up.
  for (const old of alerts().querySelectorAll(".alert")) {
    if (old.querySelector(".alert-detail")?.textContent === detail) old.remove();
  }
  alerts().append(box);
  while (alerts().children.length > 3) alerts().firstElementChild.remove();
}

export function clearErrors() {
  alerts().replaceChildren();
}

/** Say something politely to screen readers, and show it briefly as a toast. */
let toastTimer = null;
let flip = false;
export function announce(text) {
  const region = announcer();
  // Repeating the same words must still be spoken: alternate an invisible
  // trailing no-break space so the text always changes.
  flip = !flip;
  region.textContent = flip ? text : `${text}\u00a0`;
  region.classList.add("is-visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => region.classList.remove("is-visible"), 5000);
}

// --- confirm dialog ----------------------------------------------------------

/** A modal "are you sure"; resolves true on confirm. */
export function confirmAction({ title, text, confirm = "Confirm", cancel: cancelText = "Cancel" }) {
  const dialog = document.getElementById("confirm");
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-text").textContent = text;
  const ok = dialog.querySelector("#confirm-ok");
  const cancel = dialog.querySelector("#confirm-cancel");
  ok.textContent = confirm;
  cancel.textContent = cancelText;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener("click", yes);
      cancel.removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      if (dialog.open) dialog.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = (event) => {
      event?.preventDefault();
      finish(false);
    };
    ok.addEventListener("click", yes);
    cancel.addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    cancel.focus();
  });
}

// --- badges --------------------------------------------------------------------

const TONES = {
  online: "ok",
  delivered: "ok",
  succeeded: "ok",
  enabled: "ok",
  ready: "ok",
  pass: "ok",
  sent: "info",
  accepted: "info",
  dispatched: "info",
  pending: "neutral",
  queued: "neutral",
  offline: "neutral",
  optional: "warn",
  disabled: "warn",
  expired: "warn",
  cancelled: "warn",
  failed: "bad",
  fail: "bad",
};

/** A status pill: colour AND text (and a shape), never colour alone. */
export function badge(status, label = titleCase(status)) {
  return h("span", { class: ["badge", `badge-${TONES[status] || "neutral"}`], "data-status": status }, label);
}

export function setBadge(slot, status, label) {
  const current = slot.firstElementChild;
  if (current && current.dataset.status === status && current.textContent === (label ?? titleCase(status))) return;
  slot.replaceChildren(badge(status, label));
}

// --- secrets shown once ------------------------------------------------------

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
    announce("Copied to the clipboard");
  } catch {
    // No clipboard permission: select the text so Ctrl+C works.
    const code = button.closest(".secret")?.querySelector("code");
    if (code) window.getSelection()?.selectAllChildren(code);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => (button.textContent = "Copy"), 2500);
}

/** The one-time secret box: the value, a Copy button and a Done button. */
export function secretBox({ title, secret, note, onDone }) {
  const headingId = nextId("secret");
  const box = h(
    "section",
    { class: "secret", "aria-labelledby": headingId, tabindex: "-1" },
    h("h3", { id: headingId }, title),
    h("p", { class: "secret-note" }, note),
    h("div", { class: "secret-value" },
      h("code", { class: "secret-code" }, secret),
      h("button", { type: "button", class: "button", onclick: (e) => copyText(secret, e.currentTarget) }, "Copy"),
    ),
    h("button", { type: "button", class: "button button-quiet", onclick: () => { box.remove(); onDone?.(); } }, "Done, hide it"),
  );
  return box;
}

// --- forms -------------------------------------------------------------------

/** A labelled input; returns {wrap, input}. */
export function field(label, attrs = {}, { hint, tag = "input" } = {}) {
  const id = attrs.id || nextId("f");
  const hintId = hint ? `${id}-hint` : null;
  const input = h(tag, { ...attrs, id, "aria-describedby": hintId });
  const wrap = h("div", { class: "field" },
    h("label", { for: id }, label),
    input,
    hint && h("p", { class: "hint", id: hintId }, hint),
  );
  return { wrap, input };
}

/** Mark the fields a validation_error names; clears earlier marks. */
export function markFieldErrors(form, error) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) {
    // Unlink it too, or each failure leaves a dangling id in aria-describedby.
    for (const input of form.querySelectorAll(`[aria-describedby~="${CSS.escape(el.id)}"]`)) {
      const rest = input.getAttribute("aria-describedby").split(" ").filter((id) => id !== el.id);
      if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
      else input.removeAttribute("aria-describedby");
    }
    el.remove();
  }
  if (!(error instanceof ApiError)) return;
  for (const [name, message] of Object.entries(error.fields)) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    input.setAttribute("aria-invalid", "true");
    const id = nextId("err");
    input.closest(".field, fieldset")?.append(h("p", { class: "field-error", id }, message));
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
  }
}

/**
 * Every dashboard form's submit: the button is busy while `work` runs; a failure
 * shows its alert (titled `failure`) and marks the fields it names; a success
 * takes back whatever an earlier failure of this form showed, banner and fields.
 */
export function submitForm(form, button, failure, work) {
  return busy(button, async () => {
    try {
      await work();
    } catch (error) {
      markFieldErrors(form, error);
      showError(error, failure, form);
      return;
    }
    markFieldErrors(form, null);
    for (const box of alerts().querySelectorAll(".alert")) if (box.form === form) box.remove();
  });
}

/** Disable a form's submit button while `work` runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function emptyRow(columns, text) {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, text));
}

// --- a view's lifetime -----------------------------------------------------

/**
 * What a view registers while it is shown; `close()` undoes all of it.
 * `every(ms, fn)` polls (skipped while the tab is hidden, never overlapping),
 * `on(type, fn)` follows live events ("message.*" matches a prefix),
 * `soon(key, fn)` coalesces bursts of events into one call.
 */
export class Scope {
  constructor(bus) {
    this.bus = bus;
    this.alive = true;
    this.cleanups = [];
    this.pending = new Map();
  }

  on(type, fn) {
    const handler = (event) => {
      const t = event.detail.type;
      if (type === "*" || t === type || (type.endsWith("*") && t.startsWith(type.slice(0, -1)))) fn(event.detail);
    };
    this.bus.addEventListener("event", handler);
    this.cleanups.push(() => this.bus.removeEventListener("event", handler));
  }

  every(ms, fn) {
    let timer = null;
    const tick = async () => {
      if (!this.alive) return;
      if (!document.hidden) {
        try {
          await fn();
        } catch (error) {
          if (this.alive) showError(error);
        }
      }
      if (this.alive) timer = setTimeout(tick, ms);
    };
    timer = setTimeout(tick, ms);
    this.cleanups.push(() => clearTimeout(timer));
  }

  soon(key, fn, ms = 250) {
    if (this.pending.has(key)) return;
    const timer = setTimeout(async () => {
      this.pending.delete(key);
      if (!this.alive) return;
      try {
        await fn();
      } catch (error) {
        if (this.alive) showError(error);
      }
    }, ms);
    this.pending.set(key, timer);
  }

  interval(ms, fn) {
    const timer = setInterval(fn, ms);
    this.cleanups.push(() => clearInterval(timer));
  }

  cleanup(fn) {
    this.cleanups.push(fn);
  }

  close() {
    this.alive = false;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    for (const fn of this.cleanups.splice(0)) fn();
  }
}

/** A view's heading block: h1, an optional lead and actions. */
export function viewHeader(title, lead, ...actions) {
  return h("header", { class: "view-header" },
    h("div", {},
      h("h1", { tabindex: "-1", class: "view-title" }, title),
      lead && h("p", { class: "lead" }, lead),
    ),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}
