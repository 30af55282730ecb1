// Files in the web page (§15): an image message renders and a file downloads,
// both fetched with the token in the Authorization header, and no request the
// page makes carries the token in its URL.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture, openPage, logIn, chatWith, openConv, message, png, VIEWPORTS } from './helpers.js';

const env = fixture();

/** A page logged in as `name`, recording every request URL it makes. */
async function user(name, { register = true, ...view } = {}) {
  const page = await openPage(env.browser, `${env.koi.base}/`, view);
  page.urls = [];
  page.on('request', (r) => page.urls.push(r.url()));
  env.pages.push(page);
  await logIn(page, name, { register });
  return page;
}

/** The token the page holds (the session it keeps in localStorage). */
async function tokenOf(page) {
  return page.evaluate(() => {
    for (let i = 0; i < localStorage.length; i++) {
      try {
        const s = JSON.parse(localStorage.getItem(localStorage.key(i)));
        if (s?.token) return s.token;
      } catch {
        /* not the session */
      }
    }
    return null;
  });
}

for (const { name, suffix, view } of VIEWPORTS) test(`images render and files download without a token in any URL (${name})`, async () => {
  const [f, g] = [`fiona${suffix}`, `gus${suffix}`];
  await env.koi.register(f);
  const gus = await user(g, view);
  const fiona = await user(f, { register: false, ...view });
  await chatWith(gus, f);
  await gus.locator('#file-input').setInputFiles({ name: 'pond.png', mimeType: 'image/png', buffer: await png(gus, { width: 90, height: 60 }) });
  await openConv(fiona, `d:${f}:${g}`);

  // The image shows from an object URL, at its real size.
  const img = fiona.locator('#msg-list img[alt="pond.png"]');
  await img.waitFor();
  await fiona.waitForFunction((el) => el.complete && el.naturalWidth === 90, await img.elementHandle());
  assert.match(await img.getAttribute('src'), /^blob:/);

  // A file is saved through a download, with its name and bytes.
  await gus.locator('#file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('pond notes') });
  const link = fiona.locator('#msg-list a.file', { hasText: 'notes.txt' });
  await link.waitFor();
  const [download] = await Promise.all([fiona.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'notes.txt');
  assert.equal(readFileSync(await download.path(), 'utf8'), 'pond notes');

  // An HTML upload is only ever a download, never an image or a page.
  await gus.locator('#file-input').setInputFiles({ name: 'evil.html', mimeType: 'text/html', buffer: Buffer.from('<script>alert(1)</script>') });
  await fiona.locator('#msg-list a.file', { hasText: 'evil.html' }).waitFor();
  assert.equal(await fiona.locator('#msg-list img[alt="evil.html"]').count(), 0);
  await message(fiona, 'evil.html').waitFor();

  // The file requests were made, and none of the page's URLs holds a token.
  for (const page of [gus, fiona]) {
    const token = await tokenOf(page);
    assert.ok(token, 'the page has a session');
    assert.ok(page.urls.length > 0);
    for (const url of page.urls) {
      assert.ok(!url.includes(token), `a token in ${url}`);
      assert.ok(!url.includes(encodeURIComponent(token)), `a token in ${url}`);
      assert.ok(!/access_token/i.test(url), `access_token in ${url}`);
    }
  }
  assert.ok(fiona.urls.some((u) => /\/v1\/files\/\w+$/.test(u)), 'the page fetched files');
});
