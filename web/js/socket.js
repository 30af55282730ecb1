// The WebSocket JSON client: dispatch, auth, requests matched to replies by id,
// pushes, heartbeat, and reconnect with backoff (dispatching again each time).

import { dispatch } from './api.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const AUTH_TIMEOUT_MS = 10_000;

/** A failed request: `code` is the server's error code, or `closed` / `timeout`. */
export class RequestError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

/**
 * One logical session over connections that come and go.
 *
 * Callbacks: `onState(state, detail)` with state `connecting | online | offline | stopped`
 * (`detail.retryInMs`, `detail.error` when offline); `onReady(authOk, reconnect)` after each
 * successful `auth` (the caller catches up with `sync` + `history`); `onPush(key, body)` for
 * every server push; `onAuthFailed(error)` when the token is refused (the session stops).
 */
export class Socket {
  #ws = null;
  #nextId = 1;
  #pending = new Map();
  #attempt = 0;
  #retryTimer = 0;
  #pingTimer = 0;
  #stopped = true;
  #waiters = new Set();
  #connectedOnce = false;

  constructor({ token, onState, onReady, onPush, onAuthFailed }) {
    this.token = token;
    this.onState = onState || (() => {});
    this.onReady = onReady || (() => {});
    this.onPush = onPush || (() => {});
    this.onAuthFailed = onAuthFailed || (() => {});
    this.state = 'stopped';
    this.heartbeatS = 30;
  }

  start() {
    this.#stopped = false;
    window.addEventListener('online', this.#now);
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    window.removeEventListener('online', this.#now);
    clearTimeout(this.#retryTimer);
    const ws = this.#ws;
    this.#ws = null;
    if (ws) ws.close(1000, 'bye');
    this.#failPending(null, 'closed');
    this.#setState('stopped');
  }

  /** Reconnects at once when waiting for a retry (e.g. the network came back). */
  #now = () => {
    if (this.state === 'offline' && !this.#stopped) {
      clearTimeout(this.#retryTimer);
      this.#attempt = 0;
      this.#connect();
    }
  };

  #setState(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }

  async #connect() {
    if (this.#stopped) return;
    this.#setState('connecting');
    let nodes;
    try {
      nodes = (await dispatch(this.token)).nodes || [];
    } catch (e) {
      if (e.status === 401) return this.#authFailed(e);
      return this.#retry(e);
    }
    let last = new Error('no node is serving');
    for (const node of nodes) {
      if (this.#stopped) return;
      try {
        await this.#open(node);
        return;
      } catch (e) {
        if (e.code === 'unauthorized') return this.#authFailed(e);
        last = e;
      }
    }
    this.#retry(last);
  }

  #retry(error) {
    if (this.#stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#attempt);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.#attempt += 1;
    this.#setState('offline', { retryInMs: delay, error: error?.message || String(error) });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #authFailed(error) {
    this.stop();
    this.onAuthFailed(error);
  }

  /** Opens `node.ws` and authenticates; resolves once the session is up. */
  #open(node) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(node.ws);
      } catch (e) {
        reject(e);
        return;
      }
      let up = false;
      const timer = setTimeout(() => {
        ws.close();
        reject(new RequestError('timeout', 'no auth reply'));
      }, AUTH_TIMEOUT_MS);
      ws.onmessage = (ev) => this.#onFrame(ws, ev.data);
      ws.onopen = () => {
        this.#send(ws, 'auth', { token: this.token }, AUTH_TIMEOUT_MS).then(
          (ok) => {
            clearTimeout(timer);
            if (this.#stopped) {
              ws.close(1000);
              resolve();
              return;
            }
            up = true;
            this.#online(ws, ok);
            resolve();
          },
          (e) => {
            clearTimeout(timer);
            ws.close();
            reject(e);
          },
        );
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        this.#failPending(ws, 'closed');
        if (up) this.#closed(ws, ev);
        else reject(new RequestError('closed', `connection closed (${ev.code})`));
      };
    });
  }

  #online(ws, authOk) {
    this.#ws = ws;
    this.#attempt = 0;
    this.heartbeatS = authOk.heartbeat_s || 30;
    this.user = authOk.user;
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      // A ping that gets no reply means a dead connection: drop it and reconnect.
      this.#send(ws, 'ping', {}, this.heartbeatS * 1000).catch(() => ws.close());
    }, this.heartbeatS * 1000);
    this.#setState('online');
    for (const wake of this.#waiters) wake();
    const reconnect = this.#connectedOnce;
    this.#connectedOnce = true;
    this.onReady(authOk, reconnect);
  }

  #closed(ws, ev) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    clearInterval(this.#pingTimer);
    if (this.#stopped) return;
    this.#retry(new Error(`connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`));
  }

  #failPending(ws, code) {
    for (const [id, p] of this.#pending) {
      if (ws === null || p.ws === ws) {
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new RequestError(code, 'connection closed'));
      }
    }
  }

  #send(ws, op, body, timeoutMs) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RequestError('timeout', `${op}: no reply`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, ws, timer });
      ws.send(JSON.stringify({ id, [op]: body }));
    });
  }

  #onFrame(ws, data) {
    if (typeof data !== 'string') return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const pending = frame.id ? this.#pending.get(frame.id) : undefined;
    if (pending) {
      this.#pending.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.error) pending.reject(new RequestError(frame.error.code, frame.error.message));
      else pending.resolve(frame.ok || {});
      return;
    }
    for (const key of Object.keys(frame)) {
      if (key === 'id') continue;
      if (key === 'kicked' && frame.kicked.reason === 'token_revoked') {
        this.#authFailed(new RequestError('unauthorized', 'token revoked'));
        return;
      }
      if (ws === this.#ws) this.onPush(key, frame[key]);
    }
  }

  /** Waits for a connection for at most `timeoutMs`. */
  #whenOnline(timeoutMs) {
    if (this.#ws && this.state === 'online') return Promise.resolve(this.#ws);
    if (this.#stopped) return Promise.reject(new RequestError('closed', 'not connected'));
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(this.#ws);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new RequestError('timeout', 'not connected'));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  /**
   * Sends request `op` with `body` and resolves with the reply's `ok` body, or rejects with a
   * `RequestError`. While reconnecting it waits for the connection (within `timeoutMs`).
   */
  async request(op, body = {}, timeoutMs = 15_000) {
    const started = Date.now();
    const ws = await this.#whenOnline(timeoutMs);
    return this.#send(ws, op, body, Math.max(1000, timeoutMs - (Date.now() - started)));
  }
}
