// The page survives a server restart and shows what was sent while it was away.
// It runs at desktop and at phone width, on one node per width (issue #23).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, openPage, logIn, chatWith, send, message, VIEWPORTS } from './helpers.js';

for (const { name: width, view } of VIEWPORTS) describe(width, () => {
  const env = fixture();

  /**
   * The chat header of `page` says the connection is `down` (a pattern), or, for null,
   * says nothing of it and shows its subtitle. Only a phone says it there.
   */
  async function headerSays(page, down) {
    const line = page.locator('#chat-conn');
    if (down && view.width) {
      await line.filter({ hasText: down }).waitFor();
      assert.equal(await line.getAttribute('role'), 'status');
      assert.equal(await page.locator('#chat-sub').isVisible(), false, 'the state stands in for the subtitle');
      assert.equal(await page.locator('#conn').isVisible(), false, 'the pill is hidden with the sidebar');
    } else {
      await line.waitFor({ state: 'hidden' });
      await page.locator('#chat-sub').waitFor();
      if (down) await page.locator('#conn').filter({ hasText: /^(Offline|Connecting)/ }).waitFor();
    }
  }

  test('a restart of the server: reconnect, catch up, go on', async () => {
    const alice = await openPage(env.browser, `${env.koi.base}/`, view);
    const bob = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(alice, bob);
    await logIn(alice, 'alice');
    await logIn(bob, 'bob');
    await chatWith(bob, 'alice');
    await send(bob, 'before the restart');
    await alice.locator('.conv-item[data-conv="d:alice:bob"]').click();
    await message(alice, 'before the restart').waitFor();

    await env.koi.kill();
    // The connection pill is in the sidebar, which a phone hides while a chat is open: its
    // state is waited for whether it is shown or not.
    for (const p of [alice, bob]) await p.locator('#conn[data-state="offline"]').waitFor({ state: 'attached' });
    // So a phone says it in the chat's header, in place of the subtitle (a status region),
    // not as "Offline" (under the peer's name, that would read as theirs); a desktop shows
    // the pill, and says it once.
    const down = /^(No connection|Connecting)/;
    for (const p of [alice, bob]) await headerSays(p, down);


    // Keep alice away (her dispatch calls fail) while bob writes.
    await alice.route('**/v1/dispatch', (route) => route.abort('connectionrefused'));
    await env.koi.restart();
    await bob.locator('#conn[data-state="online"]').waitFor({ state: 'attached', timeout: 30_000 });
    await send(bob, 'while you were away 1');
    await send(bob, 'while you were away 2');
    for (const t of ['away 1', 'away 2']) {
      await bob.locator('#msg-list li.mine:not(.sending)', { hasText: t }).waitFor();
    }
    assert.equal(await message(alice, 'away').count(), 0, 'alice is still disconnected');
    assert.notEqual(await alice.locator('#conn').getAttribute('data-state'), 'online');
    await headerSays(alice, down);
    await headerSays(bob, null);

    await alice.unroute('**/v1/dispatch');
    await alice.locator('#conn[data-state="online"]').waitFor({ state: 'attached', timeout: 30_000 });
    await message(alice, 'while you were away 2').waitFor();
    await headerSays(alice, null);
    assert.deepEqual(await alice.locator('#msg-list li .text').allTextContents(), [
      'before the restart',
      'while you were away 1',
      'while you were away 2',
    ]);

    // Live again both ways.
    await send(alice, 'back again');
    await message(bob, 'back again').waitFor();
    await send(bob, 'welcome back');
    await message(alice, 'welcome back').waitFor();
  });
});
