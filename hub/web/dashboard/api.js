// The REST client: every call carries the bearer token; every failure becomes an
// ApiError with the problem body's `detail` (RFC 9457), ready to show as is.

export const API = "/api/v1";
const TOKEN_KEY = "relayhub.token";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code || "http_error";
    this.problem = problem;
    this.requestId = problem.request_id || null;
  }

  /** Per-field messages of a validation_error, as {field: message}. */
  get fields() {
    const out = {};
    for (const e of this.problem.errors || []) out[e.field] ??= e.message;
    return out;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

const listeners = new Set();
/** Called with no argument when the hub answers 401: the token is gone. */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * api("/devices") → the parsed success body; throws ApiError otherwise.
 * Options: method, body (JSON), query ({key: value}), token (override), signal.
 */
export async function api(path, { method = "GET", body, query: params, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token ?? session.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${API}${path}${query(params)}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, {
      code: "network_error",
      detail: "The hub could not be reached. Check that it is running, then retry.",
    });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data || {});
    if (response.status === 401 && token === undefined) for (const fn of listeners) fn(error);
    throw error;
  }
  return data;
}
