// Calls to the LUNA routes of the service this page came from, with the account and the
// credentials of the login box, and LUNA's error bodies turned into LunaError.

const ACCOUNT_KEY = "luna-console.account";
// Credentials live for the browser tab only (sessionStorage): a token left in localStorage
// would outlive the session on a shared machine.
const CREDENTIALS_KEY = "luna-console.credentials";

/** A failed call: LUNA's error_code, desc and detail, with the HTTP status. */
export class LunaError extends Error {
  constructor(status, body) {
    const code = body && typeof body.error_code === "number" ? body.error_code : null;
    super(code === null ? `HTTP ${status}` : `${code}: ${body.detail || body.desc}`);
    this.status = status;
    this.errorCode = code;
    this.desc = (body && body.desc) || "";
    this.detail = (body && body.detail) || "";
    this.body = body;
  }

  /** The path of a validation error (12022 "... Path: 'a.b', message: '...'"), if any. */
  get path() {
    const found = /Path: '([^']*)'/.exec(this.detail);
    return found ? found[1] : null;
  }

  /** The message part of a validation error, else the detail. */
  get reason() {
    const found = /message: '(.*)'\s*$/.exec(this.detail);
    return found ? found[1] : this.detail || this.desc;
  }
}

/** A random UUID (crypto.randomUUID exists only in secure contexts, e.g. not on a LAN IP). */
export function newUuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The account the console acts as (Luna-Account-Id), made up on the first visit. */
export function accountId() {
  let value = localStorage.getItem(ACCOUNT_KEY);
  if (!value) {
    value = newUuid();
    localStorage.setItem(ACCOUNT_KEY, value);
  }
  return value;
}

export function setAccountId(value) {
  localStorage.setItem(ACCOUNT_KEY, value.trim().toLowerCase());
}

/** {mode: "none" | "token" | "basic", token, login, password} */
export function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(CREDENTIALS_KEY)) || { mode: "none" };
  } catch {
    return { mode: "none" };
  }
}

export function setCredentials(value) {
  sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify(value));
}

/** The Authorization header of the login box's credentials, or null. */
export function authorization() {
  const c = credentials();
  if (c.mode === "token" && c.token) return `Bearer ${c.token}`;
  if (c.mode === "basic" && c.login) {
    // btoa takes Latin-1 only: encode the UTF-8 bytes of login:password first.
    const bytes = new TextEncoder().encode(`${c.login}:${c.password || ""}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  return null;
}

function headers(extra = {}) {
  const out = { Accept: "application/json", ...extra };
  const auth = authorization();
  if (auth) out.Authorization = auth;
  // With credentials the account is theirs; naming it too is allowed only when it is the same,
  // so the header is sent only when no credentials are.
  if (!auth) out["Luna-Account-Id"] = accountId();
  return out;
}

/**
 * The fetch credentials mode: always "omit". The console sends the login box's credentials
 * itself, and a 401 must come back to it as an error to show: with the browser's own
 * credentials allowed, its WWW-Authenticate challenge would open the browser's login dialog
 * (and keep a headless one waiting).
 */
const CREDENTIALS_MODE = "omit";

/**
 * The absolute URL of a path of this service. Built on the origin, which never holds the
 * login:password of an address like http://login:password@host/console: fetch refuses URLs
 * with credentials, and relative ones would inherit them from the page's address.
 */
function url(path) {
  return location.origin + path;
}

/** Query string of the defined values of ``params``. */
export function query(params = {}) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  if (!pairs.length) return "";
  return "?" + new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString();
}

/**
 * One call: ``body`` is sent as JSON, or as is when it is a Blob/File (an image).
 * Resolves to the parsed JSON (null for an empty answer); rejects with LunaError.
 */
export async function call(method, path, { params, body, json } = {}) {
  const extra = {};
  let payload;
  if (json !== undefined) {
    extra["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    extra["Content-Type"] = body.type || "application/octet-stream";
    payload = body;
  }
  let response;
  try {
    response = await fetch(url(path + query(params)), {
      method,
      headers: headers(extra),
      body: payload,
      credentials: CREDENTIALS_MODE,
    });
  } catch (error) {
    throw new LunaError(0, { error_code: -1, desc: "network error", detail: String(error) });
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { desc: "not JSON", detail: text.slice(0, 300) };
    }
  }
  if (!response.ok) throw new LunaError(response.status, parsed);
  return parsed;
}

export const get = (path, params) => call("GET", path, { params });
export const post = (path, options) => call("POST", path, options);
export const put = (path, json) => call("PUT", path, { json });
export const del = (path) => call("DELETE", path);

/**
 * An object URL of a stored image (a sample): fetched with the console's headers, since an
 * <img src> cannot carry credentials. Revoke it when done (URL.revokeObjectURL).
 */
export async function imageUrl(path) {
  const response = await fetch(url(path), {
    headers: headers({ Accept: "image/*" }),
    credentials: CREDENTIALS_MODE,
  });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      /* not a LUNA body */
    }
    throw new LunaError(response.status, body);
  }
  return URL.createObjectURL(await response.blob());
}

/**
 * The subprotocols a live-events socket offers: with the login box's credentials, "luna" and
 * "luna.authorization.<base64url of the Authorization header>" (a browser cannot set headers on
 * a WebSocket; the service checks the second and accepts the first), else none.
 */
export function eventsSocketProtocols() {
  const auth = authorization();
  if (!auth) return [];
  const bytes = new TextEncoder().encode(auth);
  const base64url = btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
  return ["luna", `luna.authorization.${base64url}`];
}

/** The WebSocket URL of live events, for this account and optionally one handler. */
export function eventsSocketUrl(handlerId) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // Browsers cannot set headers on a WebSocket: the account goes in the query, unless the
  // credentials (eventsSocketProtocols) decide it.
  const account = authorization() ? undefined : accountId();
  const params = { account_id: account, handler_id: handlerId || undefined };
  return `${scheme}//${location.host}/1/ws${query(params)}`;
}
