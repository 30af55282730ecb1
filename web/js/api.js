// The HTTP API (§8 of the protocol): accounts, dispatch, files, admin.

/** A failed HTTP call: `status` and the server's error `code` when it sent one. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, { token, json, body, type } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (type) {
    headers['Content-Type'] = type;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'unavailable', `network: ${e.message}`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const err = data && data.error;
    throw new ApiError(res.status, err?.code, err?.message || (typeof data === 'string' ? data : ''));
  }
  return data;
}

export const register = (username, password) =>
  call('POST', '/v1/register', { json: { username, password } });

/** `{token, user, expires_at}` */
export const login = (username, password) =>
  call('POST', '/v1/login', { json: { username, password } });

/** `POST /v1/logout`: this token, or with `all` every token of the user. */
export const logout = (token, all = false) => call('POST', '/v1/logout', { token, json: { all } });

/** `POST /v1/password`: `{token, expires_at}`, every other token revoked. */
export const changePassword = (token, oldPassword, newPassword) =>
  call('POST', '/v1/password', {
    token,
    json: { old_password: oldPassword, new_password: newPassword },
  });

/** `{sessions: [{id, created_at, last_used_at, user_agent, current}]}` */
export const sessions = (token) => call('GET', '/v1/sessions', { token });

/** Ends one of the user's sessions (logs that device out). */
export const endSession = (token, id) =>
  call('DELETE', `/v1/sessions/${encodeURIComponent(id)}`, { token });

/** Deletes the account for good; the password confirms it. */
export const deleteAccount = (token, password) =>
  call('DELETE', '/v1/account', { token, json: { password } });

/** `{nodes: [{id, ws, tcp}]}`, best first. */
export const dispatch = (token) => call('GET', '/v1/dispatch', { token });

// Uploads (with progress and cancel) live in upload.js.

// Downloads live in files.js: fetched with the header, never a token in a URL.

/** `GET /v1/admin/cluster` with the admin token. */
export const cluster = (adminToken) => call('GET', '/v1/admin/cluster', { token: adminToken });

/** `GET /metrics` (Prometheus text) of the node serving the page. */
export const metrics = () => call('GET', '/metrics');
