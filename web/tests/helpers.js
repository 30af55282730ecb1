// Shared by the browser tests: the real `koi` binary on free ports, and headless
// Debian Chromium driven by playwright-core (no browser is ever downloaded).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const KOI_BIN = resolve(here, process.env.KOI_BIN || '../../target/debug/koi');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN = 'web-test-admin';
export const PASSWORD = 'password-123';
/** Where screenshots go when KOI_SCREENSHOTS=1 (else a temp dir). */
export const SHOTS = process.env.KOI_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : null;

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** A `koi serve` process; `restart()` starts it again on the same data dir and ports. */
export class Koi {
  static async start() {
    const koi = new Koi();
    koi.dir = mkdtempSync(join(tmpdir(), 'koi-web-'));
    koi.data = join(koi.dir, 'data');
    koi.httpPort = await freePort();
    koi.tcpPort = await freePort();
    await koi.spawn();
    return koi;
  }

  get base() {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  spawn() {
    const env = { ...process.env, KOI_LOG: 'warn' };
    for (const k of Object.keys(env)) if (k.startsWith('KOI_') && k !== 'KOI_LOG') delete env[k];
    const proc = spawn(
      KOI_BIN,
      ['serve', '--data', this.data, '--http', `127.0.0.1:${this.httpPort}`, '--tcp', `127.0.0.1:${this.tcpPort}`, '--admin-token', ADMIN],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.proc = proc;
    this.exited = new Promise((res) => proc.on('exit', res));
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('koi did not report its listeners within 30 s')), 30_000);
      let http = false;
      let tcp = false;
      createInterface({ input: proc.stdout }).on('line', (line) => {
        if (line.includes('http listening on')) http = true;
        if (line.includes('tcp listening on')) tcp = true;
        if (http && tcp) {
          clearTimeout(timer);
          res();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`koi exited (${code}) before listening`));
      });
    });
  }

  /** SIGKILL: no chance to clean up. */
  async kill() {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  async restart() {
    // The ports were just released; retry briefly if the kernel has not let go yet.
    for (let i = 0; ; i++) {
      try {
        await this.spawn();
        return;
      } catch (e) {
        if (i >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async register(username, password = PASSWORD) {
    const res = await fetch(`${this.base}/v1/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  }
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Pages served by `serveLive` count as public: let them reach the node's WebSocket.
      ...(process.env.KOI_WEB_LIVE === '1' ? ['--disable-features=LocalNetworkAccessChecks'] : []),
    ],
  });
}

/**
 * A page in a fresh browser context; page errors and console errors are collected.
 * `colorScheme` is what `prefers-color-scheme` answers (`light` or `dark`).
 */
export async function openPage(browser, url, { width = 1280, height = 800, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  if (process.env.KOI_WEB_LIVE === '1') await serveLive(context);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text())) {
      page.errors.push(`console: ${m.text()}`);
    }
  });
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  return page;
}

/**
 * KOI_WEB_LIVE=1: the pages and their assets come from `web/` in this tree instead of the
 * binary's embedded copy (with the server's own headers), to try page changes against any
 * `koi` binary without rebuilding it. The tests of record run without it.
 */
async function serveLive(context) {
  const types = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', json: 'application/json' };
  await context.route(/\/(static\/.*|admin)?(\?.*)?$/, async (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = path === '/' ? 'index.html' : path === '/admin' ? 'admin.html' : path.replace(/^\/static\//, '');
    const local = join(ROOT, 'web', file);
    if (file.includes('..') || !existsSync(local)) return route.continue();
    const response = await route.fetch();
    const headers = { ...response.headers(), 'content-type': types[file.split('.').pop()] };
    await route.fulfill({ status: 200, headers, body: readFileSync(local) });
  });
}

/** Logs in through the form (registering first when `register`). */
export async function logIn(page, username, { register = true } = {}) {
  await page.locator('#login-user').fill(username);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: register ? 'Register' : 'Log in' }).click();
  await page.locator('#conn[data-state="online"]').waitFor();
}

/**
 * A page of the fixture's node logged in as `name` (registered first unless `register` is
 * false), checked for script errors at the end; `view` is `{width, height, colorScheme}`.
 */
export async function userPage(env, name, { register = true, ...view } = {}) {
  const page = await openPage(env.browser, `${env.koi.base}/`, view);
  env.pages.push(page);
  await logIn(page, name, { register });
  return page;
}

/** On a phone (one pane at a time), goes back from an open chat to the list; else nothing. */
export async function toList(page) {
  const back = page.getByRole('button', { name: 'Back to chats' });
  if (await back.isVisible()) {
    await back.click();
    await page.locator('#sidebar').waitFor();
  }
}

/** Waits until no chat is open: the placeholder on a desktop, the list alone on a phone. */
export async function noChatOpen(page) {
  if (page.viewportSize().width > PHONE.width) return page.locator('#chat-placeholder').waitFor();
  await page.locator('#sidebar').waitFor();
  await page.locator('#chat').waitFor({ state: 'hidden' });
}

/** Opens conversation `conv` (e.g. `d:ann:ben`) from the chat list, at any width. */
export async function openConv(page, conv) {
  await toList(page);
  await page.locator(`.conv-item[data-conv="${conv}"]`).click();
}

/** Opens the direct chat with `user` from the "Message a user" box. */
export async function chatWith(page, user) {
  await toList(page);
  await page.getByLabel('Username to message').fill(user);
  await page.getByLabel('Username to message').press('Enter');
  await page.locator('#chat-title', { hasText: user }).waitFor();
}

export async function send(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

/** Waits until the open chat shows a message with `text`. */
export function message(page, text) {
  return page.locator('#msg-list li', { hasText: text });
}

export async function shot(page, name) {
  const dir = SHOTS || join(tmpdir(), 'koi-web-shots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name) });
}

/**
 * One node and one browser for a test file: started before its tests, stopped after them.
 * Pages pushed to `pages` are checked for script errors at the end.
 */
export function fixture() {
  const env = { koi: null, browser: null, pages: [] };
  before(async () => {
    env.koi = await Koi.start();
    env.browser = await launch();
  });
  after(async () => {
    for (const p of env.pages) assert.deepEqual(p.errors, [], 'no script errors in the page');
    await env.browser?.close();
    await env.koi?.stop();
  });
  return env;
}

/** A phone's viewport (an iPhone 12–15 in CSS pixels). */
export const PHONE = { width: 390, height: 844 };

/**
 * The widths every feature test runs at (issue #23): the desktop default and a phone.
 * `suffix` keeps the users of the two runs apart on the file's one node.
 */
export const VIEWPORTS = [
  { name: 'desktop', suffix: '', view: {} },
  { name: 'phone', suffix: 'p', view: PHONE },
];

/** The texts of the open chat's message bubbles, in order. */
export function bubbleTexts(page) {
  return page.locator('#msg-list li.msg .bubble .text').allTextContents();
}


/** A PNG of `width` × `height` drawn by the page itself: a `color` ground with koi on it. */
export async function png(page, { width = 120, height = 80, color = '#2c7bd9' } = {}) {
  const b64 = await page.evaluate(
    ([w, h, ground]) => {
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      const g = c.getContext('2d');
      g.fillStyle = ground;
      g.fillRect(0, 0, w, h);
      for (const [x, y, r, fish] of [[0.3, 0.4, 0.15, '#e8643c'], [0.65, 0.65, 0.12, '#f4f1ea'], [0.5, 0.25, 0.08, '#f2b134']]) {
        g.fillStyle = fish;
        g.beginPath();
        g.ellipse(x * w, y * h, r * h * 1.6, r * h, 0.4, 0, Math.PI * 2);
        g.fill();
      }
      return c.toDataURL('image/png').split(',')[1];
    },
    [width, height, color],
  );
  return Buffer.from(b64, 'base64');
}

/** Creates group `name` with `members` from the Groups panel and waits until it is open. */
export async function createGroup(page, name, members) {
  await toList(page);
  await page.locator('#groups-panel summary').click();
  await page.getByLabel('New group name').fill(name);
  await page.locator('#group-members').fill(members.join(', '));
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.locator('#chat-title', { hasText: name }).waitFor();
}
