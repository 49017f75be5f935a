/* global fetch, sessionStorage, FormData, URLSearchParams */
/**
 * The console's client of the public HTTP API (`/api/v1`, register-api-v1.md) — the only way it
 * reads or changes anything. The API key lives in sessionStorage: it is kept for this browser
 * tab's session only and is gone when the tab closes.
 */

const KEY_STORAGE = 'pksync.apiKey';
const IDENTITY_STORAGE = 'pksync.identity';
export const API_BASE = '/api/v1';

/** An API answer that was not 2xx: `status`, and the API's `code` and `message` when it gave them. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

/** The signed-in identity `{ role: 'admin'|'province'|'public', province, name }`. */
export function getIdentity() {
  const raw = sessionStorage.getItem(IDENTITY_STORAGE);
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

export function setSession(key, identity) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.setItem(IDENTITY_STORAGE, JSON.stringify(identity));
}

export function clearSession() {
  sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.removeItem(IDENTITY_STORAGE);
}

/** Builds `path?query`, leaving out empty values. */
export function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Calls the API and returns the parsed JSON (or the Response itself with `raw: true`).
 * `body` may be a plain object (sent as JSON) or a FormData (sent as multipart).
 * Throws {@link ApiError} for a non-2xx answer and for a network failure (status 0).
 */
export async function api(path, { method = 'GET', query, body, raw = false, key = getKey(), signal } = {}) {
  const headers = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API_BASE + withQuery(path, query), { method, headers, body: payload, signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', String(e && e.message ? e.message : e));
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = res.statusText;
    try {
      const data = await res.json();
      if (data && data.error) {
        code = data.error.code ?? code;
        message = data.error.message ?? message;
      }
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(res.status, code, message);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** The items of a list answer, whether the API sends a bare array or `{ data: [...] }`. */
export function items(answer) {
  if (Array.isArray(answer)) return answer;
  if (answer && Array.isArray(answer.data)) return answer.data;
  if (answer && Array.isArray(answer.items)) return answer.items;
  return [];
}
