// The monitor page: asks for the admin token, shows the node and live counters.
// It runs at desktop and at phone width, on one node per width (issue #23).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, ADMIN, openPage, logIn, chatWith, send, shot, VIEWPORTS } from './helpers.js';

for (const { name: width, view } of VIEWPORTS) describe(width, () => {
  const env = fixture();

  const number = async (page, sel) => Number(await page.locator(sel).textContent());

  test('the monitor shows the node and a rising message counter', async () => {
    const res = await fetch(`${env.koi.base}/v1/admin/cluster`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    const { nodes } = await res.json();
    const id = nodes[0].id;

    const admin = await openPage(env.browser, `${env.koi.base}/admin`, view);
    env.pages.push(admin);
    // A wrong token is refused and asked again.
    await admin.getByLabel('Admin token').fill('wrong');
    await admin.getByLabel('Admin token').press('Enter');
    await admin.locator('#token-error', { hasText: 'not the admin token' }).waitFor();
    await admin.getByLabel('Admin token').fill(ADMIN);
    await admin.getByRole('button', { name: 'Open' }).click();
    const row = admin.locator('#nodes tr', { hasText: id });
    await row.waitFor();
    assert.match(await row.textContent(), /gateway/);
    await admin.waitForFunction(() => /^\d+$/.test(document.getElementById('s-stored').textContent));
    const before = await number(admin, '#s-stored');

    const alice = await openPage(env.browser, `${env.koi.base}/`, view);
    const bob = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(alice, bob);
    await logIn(alice, 'alice');
    await logIn(bob, 'bob');
    await chatWith(alice, 'bob');
    for (let i = 1; i <= 20; i++) {
      await send(alice, `message ${i}`);
      await alice.locator('#msg-list li:not(.sending) .text', { hasText: new RegExp(`^message ${i}$`) }).waitFor();
      await new Promise((r) => setTimeout(r, 200)); // spread over the chart, not a synchronisation
    }
    await admin.waitForFunction((n) => Number(document.getElementById('s-stored').textContent) >= n + 20, before);
    // The connection is counted, and the chart has a line for the node.
    await admin.waitForFunction(() => Number(document.getElementById('s-conns').textContent) >= 1);
    await admin.locator('#chart-in svg polyline').waitFor();
    assert.equal(await admin.locator('#chart-in svg polyline').count(), 1);
    // Nothing sticks out sideways (the tables scroll within their sections).
    assert.ok(await admin.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scrolling');
    if (width === 'desktop') await shot(admin, 'monitor.png');

    // The token stays for the tab (sessionStorage), and a failed poll is listed.
    await env.koi.kill();
    await admin.locator('#errors li', { hasText: '—' }).first().waitFor();
    await env.koi.restart();
    await admin.locator('#poll[data-state="online"]').waitFor();
  });
});
