// relayhub developer docs (/docs): copy buttons on every code block, the code
// examples as tabs (one choice of language for the whole page, remembered in
// localStorage), and a language switch that keeps the section you are reading.
// The page works without this script: every example is then shown in turn.
// No inline script or style anywhere: the page's CSP forbids both.

const STORAGE_KEY = "relayhub.docs.example";
const labels = document.body.dataset;
const toast = document.getElementById("docs-status");
let toastTimer = 0;

function announce(text) {
  toast.textContent = text;
  toast.classList.add("is-visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove("is-visible"), 1800);
}

function remembered() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: every visit starts with the first tab
  }
}

function remember(lang) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

// --- copy buttons ------------------------------------------------------------

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/** The button's text, and its accessible name with what it copies ("Copy: Python"). */
function label(button, text) {
  button.textContent = text;
  if (button.dataset.what) button.setAttribute("aria-label", `${text}: ${button.dataset.what}`);
}

async function copyFrom(pre, button) {
  try {
    await navigator.clipboard.writeText(pre.textContent);
  } catch {
    selectText(pre);
    announce(labels.copyFailed);
    return;
  }
  label(button, labels.copied);
  button.dataset.state = "copied";
  announce(labels.copied);
  setTimeout(() => {
    label(button, labels.copy);
    delete button.dataset.state;
  }, 1800);
}

function addCopyButtons() {
  for (const pre of document.querySelectorAll("pre.code")) {
    const wrap = document.createElement("div");
    wrap.className = "code-wrap";
    pre.replaceWith(wrap);
    wrap.append(pre);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    if (pre.dataset.label) button.dataset.what = pre.dataset.label;
    label(button, labels.copy);
    button.addEventListener("click", () => copyFrom(pre, button));
    wrap.append(button);
  }
}

// --- example tabs --------------------------------------------------------------

const groups = [];

function showIn(group, lang) {
  const chosen = group.panels.find((p) => p.dataset.lang === lang) || group.panels[0];
  for (const [i, panel] of group.panels.entries()) {
    const selected = panel === chosen;
    panel.hidden = !selected;
    group.tabs[i].setAttribute("aria-selected", String(selected));
    group.tabs[i].tabIndex = selected ? 0 : -1;
  }
}

/** Show ``lang`` in every card, keeping ``anchor`` (the clicked tab) where it was. */
function choose(lang, anchor) {
  const before = anchor ? anchor.getBoundingClientRect().top : 0;
  for (const group of groups) showIn(group, lang);
  if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - before);
  remember(lang);
}

function onTabKey(event, group, index) {
  const last = group.tabs.length - 1;
  const next = {
    ArrowRight: index === last ? 0 : index + 1,
    ArrowLeft: index === 0 ? last : index - 1,
    Home: 0,
    End: last,
  }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const tab = group.tabs[next];
  choose(tab.dataset.lang, tab);
  tab.focus();
}

function buildTabs() {
  for (const container of document.querySelectorAll("[data-examples]")) {
    const panels = [...container.querySelectorAll(".example")];
    if (panels.length < 2) continue;
    const list = document.createElement("div");
    list.className = "tabs";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", labels.examplePicker);
    const group = { panels, tabs: [] };
    for (const [index, panel] of panels.entries()) {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.id = `${panel.id}-tab`;
      tab.dataset.lang = panel.dataset.lang;
      tab.textContent = panel.dataset.label;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      tab.addEventListener("click", () => choose(tab.dataset.lang, tab));
      tab.addEventListener("keydown", (event) => onTabKey(event, group, index));
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      panel.querySelector(".example-lang")?.classList.add("visually-hidden");
      group.tabs.push(tab);
      list.append(tab);
    }
    panels[0].before(list);
    groups.push(group);
  }
  const first = groups[0]?.panels[0]?.dataset.lang;
  const lang = remembered() || first;
  for (const group of groups) showIn(group, lang);
}

// --- language switch -------------------------------------------------------------

function keepSectionOnSwitch() {
  for (const link of document.querySelectorAll("a[data-lang-link]")) {
    const url = new URL(link.href);
    url.hash = window.location.hash;
    link.href = url.href;
  }
}

addCopyButtons();
buildTabs();
keepSectionOnSwitch();
window.addEventListener("hashchange", keepSectionOnSwitch);
