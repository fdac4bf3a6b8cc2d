// Access tokens: create with scopes (the secret is shown once), list, revoke.

import { api } from "../api.js";
import { ago, h, keyed, nextId } from "../dom.js";
import {
  announce, confirmAction, emptyRow, field, secretBox, showError, submitForm, viewHeader,
} from "../ui.js";

export const title = "Tokens";

export const SCOPES = [
  ["sms.send", "Send SMS, cancel messages, queue list sends"],
  ["otp.send", "Send verification codes"],
  ["otp.verify", "Check verification codes"],
  ["messages.read", "Read messages, stats and the live stream"],
  ["devices.read", "See devices"],
  ["devices.manage", "Pair, rename, disable and revoke devices"],
  ["recipients.read", "Read recipients and lists"],
  ["recipients.write", "Change recipients and lists"],
  ["webhooks.manage", "Manage webhook endpoints and the attempts log"],
  ["tokens.manage", "Create and revoke tokens"],
  ["account.read", "Read the account and the launch readiness"],
];

function scopesFieldset() {
  const legendId = nextId("scopes");
  const boxes = SCOPES.map(([scope, what]) => {
    const id = nextId("scope");
    return h("div", { class: "check" },
      h("input", { type: "checkbox", id, name: "scopes", value: scope, "aria-describedby": `${id}-what` }),
      h("label", { for: id }, h("span", { class: "mono" }, scope)),
      h("span", { class: "muted small check-hint", id: `${id}-what` }, what));
  });
  const all = h("button", { type: "button", class: "button button-quiet button-small" }, "Select all");
  const none = h("button", { type: "button", class: "button button-quiet button-small" }, "Select none");
  const fieldset = h("fieldset", { class: "checks" },
    h("legend", { id: legendId }, "Scopes"),
    h("div", { class: "actions" }, all, none),
    h("div", { class: "check-grid" }, boxes),
  );
  const set = (checked) => {
    for (const input of fieldset.querySelectorAll('input[name="scopes"]')) input.checked = checked;
  };
  all.addEventListener("click", () => set(true));
  none.addEventListener("click", () => set(false));
  return fieldset;
}

export function mount(root, scope) {
  const name = field("Name", { name: "name", required: true, maxlength: 80, autocomplete: "off" }, {
    hint: "What uses it, e.g. “shop backend”.",
  });
  const expires = field("Expires (optional)", { name: "expires_at", type: "date" }, {
    hint: "At midnight UTC at the start of that day. Empty: never.",
  });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Create token");
  const formId = nextId("new-token");
  const form = h("form", { class: "stack", "aria-labelledby": formId },
    h("h2", { id: formId }, "Create a token"),
    h("div", { class: "form-row" }, name.wrap, expires.wrap),
    scopesFieldset(),
    h("div", { class: "actions" }, submit),
  );
  const secretSlot = h("div", { class: "secret-slot" });
  const rows = h("tbody");
  const listId = nextId("tokens");

  root.append(
    viewHeader("Tokens", "Access tokens for the REST API. A token can only grant scopes it holds itself."),
    h("div", { class: "card" }, form),
    secretSlot,
    h("section", { class: "card", "aria-labelledby": listId },
      h("h2", { id: listId }, "Active tokens"),
      h("div", { class: "table-wrap" }, h("table", { class: "table tokens-table" },
        h("thead", {}, h("tr", {}, ["Name", "Scopes", "Created", "Last used", "Expires", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
        rows,
      )),
    ),
  );

  async function load() {
    const body = await api("/tokens");
    if (!scope.alive) return;
    if (!body.items.length) {
      rows.replaceChildren(emptyRow(6, "No token."));
      return;
    }
    rows.querySelector(".empty")?.remove();
    keyed(rows, body.items, (t) => t.id, (t) => {
      const revoke = h("button", { type: "button", class: "button button-danger-quiet", "aria-label": `Revoke ${t.name}` }, "Revoke");
      revoke.addEventListener("click", () => revokeToken(t));
      return h("tr", { "data-token": t.id },
        h("th", { scope: "row", "data-label": "Name" }, t.name, h("span", { class: "muted small block mono" }, t.id)),
        h("td", { "data-label": "Scopes" }, h("ul", { class: "chips" }, t.scopes.map((s) => h("li", { class: "chip mono" }, s)))),
        h("td", { "data-label": "Created" }, ago(t.created_at)),
        h("td", { "data-label": "Last used", "data-field": "used" }),
        h("td", { "data-label": "Expires" }, t.expires_at ? ago(t.expires_at) : h("span", { class: "muted" }, "never")),
        h("td", { "data-label": "Actions" }, revoke),
      );
    }, (row, t) => {
      const used = row.querySelector('[data-field="used"]');
      if (used.firstElementChild?.getAttribute("datetime") !== t.last_used_at || !used.firstChild) {
        used.replaceChildren(ago(t.last_used_at, "never"));
      }
    });
  }

  async function revokeToken(t) {
    const sure = await confirmAction({
      title: `Revoke “${t.name}”?`,
      text: "Every request with this token is refused from now on. This cannot be undone.",
      confirm: "Revoke token",
    });
    if (!sure) return;
    try {
      await api(`/tokens/${t.id}`, { method: "DELETE" });
      announce(`Token ${t.name} revoked`);
      await load();
    } catch (error) {
      showError(error, "Could not revoke the token");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const scopes = [...form.querySelectorAll('input[name="scopes"]:checked')].map((i) => i.value);
    const body = { name: name.input.value.trim(), scopes };
    if (expires.input.value) body.expires_at = `${expires.input.value}T00:00:00Z`;
    submitForm(form, submit, "The token was not created", async () => {
      const created = await api("/tokens", { method: "POST", body });
      form.reset();
      const box = secretBox({
        title: `Token “${created.name}”`,
        secret: created.token,
        note: "Copy it now: it is shown only once. Send it as “Authorization: Bearer …”.",
      });
      secretSlot.replaceChildren(box);
      box.focus();
      announce(`Token ${created.name} created; copy it now`);
      await load().catch(showError); // the token exists: a failed refresh is another error
    });
  });

  load().catch(showError);
  scope.cleanup(() => secretSlot.replaceChildren());
}
