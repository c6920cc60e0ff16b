// The console's shell: the login box (account and credentials) and the views, one per
// location hash (#detect, #handlers?x=y...), each a module with render(root, params).

import { LunaError, accountId, credentials, get, setAccountId, setCredentials } from "./api.js";
import { busy, fill, h } from "./ui.js";
import * as detect from "./views/detect.js";
import * as handlers from "./views/handlers.js";
import * as events from "./views/events.js";
import * as lists from "./views/lists.js";
import * as verify from "./views/verify.js";
import * as matcher from "./views/matcher.js";

const VIEWS = { detect, handlers, events, lists, verify, matcher };
const DEFAULT_VIEW = "detect";

const main = document.getElementById("view");
const nav = document.getElementById("nav");
let leave = null; // what the current view needs done when left (e.g. close its socket)

function route() {
  const [name, search] = location.hash.replace(/^#/, "").split("?");
  const key = VIEWS[name] ? name : DEFAULT_VIEW;
  if (typeof leave === "function") leave();
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("active", link.dataset.view === key);
  const root = h("section", { class: "view", id: `view-${key}` }, h("h2", {}, VIEWS[key].title));
  main.replaceChildren(root);
  leave = VIEWS[key].render(root, new URLSearchParams(search || ""));
}

function buildNav() {
  fill(nav, Object.entries(VIEWS).map(([key, view]) => h("a", { href: `#${key}`, dataset: { view: key } }, view.title)));
}

/** The login box: the account (Luna-Account-Id without auth) and optional credentials. */
function buildLogin() {
  const box = document.getElementById("login");
  const saved = credentials();
  const account = h("input", { id: "login-account", name: "account", size: 38, value: accountId(), spellcheck: "false" });
  const mode = h(
    "select",
    { id: "login-mode", name: "mode" },
    h("option", { value: "none" }, "no credentials (auth off)"),
    h("option", { value: "token" }, "token (Bearer)"),
    h("option", { value: "basic" }, "login and password"),
  );
  mode.value = saved.mode || "none";
  const token = h("input", { id: "login-token", name: "token", type: "password", size: 30, placeholder: "token", value: saved.token || "" });
  const login = h("input", { id: "login-login", name: "login", size: 18, placeholder: "login", value: saved.login || "" });
  const password = h("input", { id: "login-password", name: "password", type: "password", size: 14, placeholder: "password", value: saved.password || "" });
  const status = h("span", { id: "login-status", class: "login-status" });
  const secrets = h("span", { class: "secrets" });

  function showSecrets() {
    fill(secrets, mode.value === "token" ? token : mode.value === "basic" ? [login, password] : null);
    account.disabled = mode.value !== "none"; // with credentials the account is theirs
  }

  async function apply() {
    const value = account.value.trim().toLowerCase();
    if (mode.value === "none" && !/^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/.test(value)) {
      fill(status, h("span", { class: "error-inline" }, "the account id must be a UUID"));
      return;
    }
    setAccountId(value);
    setCredentials({ mode: mode.value, token: token.value.trim(), login: login.value, password: password.value });
    // One cheap read that needs the account: it tells whether the credentials work.
    const count = await busy(status, () => get("/1/handlers/count"));
    if (count) {
      if (mode.value !== "none") await learnAccount();
      fill(status, h("span", { class: "ok", id: "login-ok" }, `signed in · ${count.handlers_count} handler(s)`));
      route(); // the view shows the new account's objects
    }
  }

  /** The credentials' account, shown in the account field and named by the live view's
   * socket. The API has no "who am I": the account's tokens name it, when it has one. */
  async function learnAccount() {
    try {
      const found = await get("/1/accounts/tokens", { page_size: 1 });
      if (found.tokens.length) {
        setAccountId(found.tokens[0].account_id);
        account.value = found.tokens[0].account_id;
      }
    } catch {
      // not known: the field keeps what it had
    }
  }

  mode.addEventListener("change", showSecrets);
  box.append(
    h("label", {}, "Account ", account),
    mode,
    secrets,
    h("button", { id: "login-apply", onclick: apply }, "Apply"),
    status,
  );
  showSecrets();
}

// Errors nobody caught (a bug, or a failed module) are shown, not only logged.
window.addEventListener("unhandledrejection", (event) => {
  const reason = event.reason;
  const text = reason instanceof LunaError ? reason.message : String(reason);
  document.getElementById("global-error").textContent = text;
});

buildNav();
buildLogin();
window.addEventListener("hashchange", route);
route();
