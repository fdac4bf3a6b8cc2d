// DOM helpers: build elements without HTML strings, keep lists keyed, format values.
// The page's CSP forbids inline styles, so nothing here touches element.style:
// looks come from classes and attributes only.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h("button", {class: "button", onclick}, "Save") → an element. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements (charts). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/**
 * Make `container`'s children match `items`, reusing the node of each key:
 * `create(item)` builds a node, `update(node, item)` refreshes it in place, so
 * an open form or a focused button inside a row survives a refresh.
 */
export function keyed(container, items, key, create, update) {
  const existing = new Map();
  for (const node of container.children) existing.set(node.dataset.key, node);
  let cursor = container.firstElementChild;
  for (const item of items) {
    const k = String(key(item));
    let node = existing.get(k);
    if (node) {
      existing.delete(k);
      update(node, item);
    } else {
      node = create(item);
      node.dataset.key = k;
      update(node, item);
    }
    if (node !== cursor) container.insertBefore(node, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const node of existing.values()) node.remove();
}

// --- formatting ------------------------------------------------------------

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const hm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function formatAbsolute(iso) {
  return iso ? absolute.format(new Date(iso)) : "—";
}

export function formatClock(iso) {
  return iso ? clock.format(new Date(iso)) : "—";
}

export function formatHourMinute(iso) {
  return iso ? hm.format(new Date(iso)) : "";
}

export function formatAgo(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  const future = seconds < 0;
  const a = Math.abs(seconds);
  let text;
  if (a < 5) return "just now";
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400) text = `${Math.floor(a / 3600)} h`;
  else text = `${Math.floor(a / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} s`;
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** <time> showing "3 min ago", kept fresh by the ticker below; exact time on hover. */
export function ago(iso, fallback = "—") {
  if (!iso) return h("span", { class: "muted" }, fallback);
  return h("time", { datetime: iso, title: formatAbsolute(iso), "data-ago": "" }, formatAgo(iso));
}

/** Update a <time data-ago> element (or replace a placeholder) in place. */
export function setAgo(slot, iso, fallback = "—") {
  const current = slot.firstElementChild;
  if (current && current.matches("time[data-ago]") && current.getAttribute("datetime") === iso) return;
  slot.replaceChildren(ago(iso, fallback));
}

setInterval(() => {
  const now = Date.now();
  for (const el of document.querySelectorAll("time[data-ago]")) {
    const text = formatAgo(el.getAttribute("datetime"), now);
    if (el.textContent !== text) el.textContent = text;
  }
}, 5000);

export function titleCase(word) {
  return word ? word.charAt(0).toUpperCase() + word.slice(1).replaceAll("_", " ") : "";
}

let uid = 0;
/** A page-unique id for label/aria wiring. */
export function nextId(prefix = "id") {
  uid += 1;
  return `${prefix}-${uid}`;
}
