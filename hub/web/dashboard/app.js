// The relayhub dashboard: sign-in, the hash router, the live stream.
//
// Sign-in: a `#token=rh_…` fragment (the link `relayhub dashboard-link` prints) is taken
// out of the address bar at once and signs in; without one, the sign-in form
// asks for a token. A link never replaces a session of another account unasked
// (a planted link once moved a signed-in person into an attacker's account).
// Each view is a module with `mount(root, scope, app, arg)`; the Scope it gets
// is closed when the view changes, which stops its polling and event listeners.

import { API, ApiError, api, onUnauthorized, session } from "./api.js";
import { LiveStream } from "./stream.js";
import { Scope, announce, clearErrors, confirmAction, showError } from "./ui.js";
import * as devices from "./views/devices.js";
import * as message from "./views/message.js";
import * as messages from "./views/messages.js";
import * as pair from "./views/pair.js";
import * as queue from "./views/queue.js";
import * as readiness from "./views/readiness.js";
import * as tokens from "./views/tokens.js";
import * as webhooks from "./views/webhooks.js";

const VIEWS = { devices, pair, queue, messages, message, webhooks, tokens, readiness };
const DEFAULT_VIEW = "devices";

const $ = (id) => document.getElementById(id);

/** Live events, re-dispatched as "event" CustomEvents ({id, type, body}). */
const bus = new EventTarget();
let stream = null;
let scope = null;
let signedIn = false;

const app = {
  bus,
  /** Go to a view: app.go("message", "req_…"). */
  go(view, arg) {
    const hash = arg ? `#${view}/${encodeURIComponent(arg)}` : `#${view}`;
    if (location.hash === hash) render();
    else location.hash = hash;
  },
};

// --- sign-in -----------------------------------------------------------------

// The token of a sign-in link, until boot() decides whether it may take the session's place.
let linkToken = null;

function takeTokenFromFragment() {
  const fragment = location.hash.slice(1);
  if (!fragment.startsWith("token=")) return;
  // Not URLSearchParams: it would turn a "+" of the token into a space.
  const raw = fragment.slice("token=".length).split("&")[0];
  let token = raw;
  try {
    token = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded after all: take it as it is.
  }
  token = token.trim();
  // Out of the address bar (and the history entry) before anything else runs.
  history.replaceState(null, "", `${location.pathname}${location.search}#${DEFAULT_VIEW}`);
  if (token) linkToken = token;
}

async function checkToken(token) {
  // /account needs account.read; a 403 still proves the token is valid.
  try {
    return await api("/account", { token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { name: null };
    throw error;
  }
}

function accountLabel(account) {
  if (!account.name) return "an account this token may not name (it lacks account.read)";
  // The id too: another account may well carry the same name.
  return `“${account.name}” (${account.account_id})`;
}

/**
 * Whether a sign-in link's token may replace the session's: at once for the
 * same account, or when the session's token no longer works; for another
 * account only once the person confirms, with both accounts named.
 */
async function linkMayReplace(current, link) {
  let next;
  try {
    next = await checkToken(link);
  } catch (error) {
    showError(error, "The sign-in link did not work; you are still signed in");
    return false;
  }
  let now;
  try {
    now = await checkToken(current);
  } catch {
    return true; // no session worth keeping
  }
  if (now.account_id && now.account_id === next.account_id) return true;
  const there = next.name || "the other account";
  return confirmAction({
    title: "Switch to another account?",
    text:
      `This sign-in link is for ${accountLabel(next)}, but you are signed in to ${accountLabel(now)}.` +
      ` After switching, everything you do (pairing a phone, sending, tokens) happens in ${there}.` +
      " Switch only if you meant to open that account.",
    confirm: `Switch to ${there}`,
    cancel: `Stay in ${now.name || "this account"}`,
  });
}

function showSignIn(message) {
  signedIn = false;
  stream?.stop();
  stream = null;
  scope?.close();
  scope = null;
  $("view").replaceChildren();
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("live-state").hidden = true;
  $("account-name").textContent = "";
  $("sign-in").hidden = false;
  setLive("off");
  document.title = "Sign in · relayhub";
  if (message) showError(message, "Sign-in failed");
  $("sign-in-token").focus();
}

async function signIn(token) {
  const account = await checkToken(token);
  session.token = token;
  signedIn = true;
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("live-state").hidden = false;
  $("account-name").textContent = account.name || "";
  startStream();
  render();
}

function signOut(reason) {
  session.token = null;
  clearErrors();
  showSignIn(reason);
}

// --- the live stream ---------------------------------------------------------

const LIVE_TEXT = {
  off: "Not connected",
  connecting: "Connecting…",
  open: "Live",
  waiting: "Reconnecting…",
  forbidden: "Live updates off",
  stopped: "Not connected",
};

function setLive(state, info) {
  const el = $("live-state");
  const previous = el.dataset.state;
  el.dataset.state = state;
  let text = LIVE_TEXT[state] || state;
  if (state === "waiting" && info?.delay) text = `Reconnecting in ${Math.ceil(info.delay / 1000)} s`;
  if (state === "forbidden") el.title = "This token lacks messages.read; pages refresh by polling instead.";
  else el.removeAttribute("title");
  $("live-text").textContent = text;
  // Announce only real changes of connectivity, not every retry.
  if (previous === "open" && state === "waiting") announce("Live updates lost; reconnecting");
  if (previous === "waiting" && state === "open") announce("Live updates back");
}

function startStream() {
  stream?.stop();
  stream = new LiveStream({
    url: `${API}/events`,
    token: () => session.token,
    onEvent: (event) => bus.dispatchEvent(new CustomEvent("event", { detail: event })),
    onState: setLive,
    onUnauthorized: () => signOut(new Error("The token was revoked or has expired. Sign in again.")),
  });
  stream.start();
}

window.addEventListener("online", () => stream?.reconnectNow());

// A `reset` event means events may have been missed: reload what is shown.
bus.addEventListener("event", (event) => {
  if (event.detail.type === "reset") render({ keepFocus: true });
});

// --- router --------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.slice(1);
  const [name, ...rest] = raw.split("/");
  const view = VIEWS[name] ? name : DEFAULT_VIEW;
  return { view, arg: rest.length ? decodeURIComponent(rest.join("/")) : null };
}

function render({ keepFocus = false } = {}) {
  if (!signedIn) return;
  const { view, arg } = parseHash();
  const module = VIEWS[view];
  scope?.close();
  scope = new Scope(bus);
  const root = $("view");
  root.replaceChildren();
  root.dataset.view = view;
  const navName = module.nav || view;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === navName) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${module.title} · relayhub`;
  try {
    module.mount(root, scope, app, arg);
  } catch (error) {
    showError(error);
  }
  if (!keepFocus) root.querySelector(".view-title")?.focus({ preventScroll: false });
}

window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#token=")) {
    takeTokenFromFragment();
    boot();
    return;
  }
  render();
});

// --- start -----------------------------------------------------------------------

async function boot() {
  const link = linkToken;
  linkToken = null;
  let token = session.token;
  if (link && link !== token) {
    if (!token || (await linkMayReplace(token, link))) token = link;
    else if (signedIn) {
      render(); // stay as signed in; the link took the view back to the start
      announce("Kept the current sign-in");
      return;
    }
  }
  if (!token) {
    showSignIn();
    return;
  }
  try {
    await signIn(token);
  } catch (error) {
    session.token = null;
    showSignIn(error);
  }
}

onUnauthorized(() => {
  if (signedIn) signOut(new Error("The hub no longer accepts this token. Sign in again."));
});

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("sign-in-token");
  const button = event.currentTarget.querySelector("button[type=submit]");
  const token = input.value.trim();
  if (!token) return;
  button.disabled = true;
  clearErrors();
  try {
    await signIn(token);
    input.value = "";
    announce("Signed in");
  } catch (error) {
    showError(error, "Sign-in failed");
    input.select();
  } finally {
    button.disabled = false;
  }
});

$("sign-out").addEventListener("click", () => {
  signOut();
  announce("Signed out");
});

takeTokenFromFragment();
boot();
