// The page-only features of issue #23: day separators and the "new messages" divider,
// clickable links (and still no markup from text), the image viewer, upload progress
// with cancel, and the emoji picker over the vendored Emojibase data — at desktop and at
// phone width (one node per width, so the names stay the same).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture, userPage, chatWith, send, message, png, ROOT, openConv, toList, noChatOpen, VIEWPORTS } from './helpers.js';

for (const { name, view } of VIEWPORTS) describe(name, () => {
  const env = fixture();
  const here = dirname(fileURLToPath(import.meta.url));

  let eve;
  let finn;

  test('a "new messages" divider before what was unread, and a day separator', async () => {
    eve = await userPage(env, 'eve', view);
    finn = await userPage(env, 'finn', view);
    await chatWith(eve, 'finn');
    await send(eve, 'first, read');
    await openConv(finn, 'd:eve:finn');
    await message(finn, 'first, read').waitFor();
    await finn.locator('.conv-item[data-conv="d:eve:finn"] .badge').waitFor({ state: 'detached' });
    // finn looks elsewhere; eve writes two more.
    await finn.evaluate(() => (location.hash = ''));
    await noChatOpen(finn);
    await send(eve, 'second, unread');
    await send(eve, 'third, unread');
    await finn.locator('.conv-item[data-conv="d:eve:finn"] .badge', { hasText: '2' }).waitFor();
    await openConv(finn, 'd:eve:finn');
    await message(finn, 'third, unread').waitFor();
    const rows = await finn.locator('#msg-list > li').evaluateAll((lis) => lis.map((li) => li.className.includes('sep') ? `[${li.textContent}]` : li.querySelector('.text')?.textContent));
    assert.deepEqual(rows, ['[Today]', 'first, read', '[New messages]', 'second, unread', 'third, unread']);
  });

  test('day separators follow the local day of each message', async () => {
    const rows = await eve.evaluate(async () => {
      const { rows } = await import('/static/js/timeline.js');
      const day = (d, h) => new Date(2026, 0, d, h).getTime();
      const msgs = [
        { seq: 1, from: 'x', ts: day(3, 9) },
        { seq: 2, from: 'me', ts: day(3, 23) },
        { seq: 3, from: 'x', ts: day(4, 1) },
        { seq: 4, from: 'x', ts: day(5, 12) },
      ];
      const failed = { client_msg_id: 'f', from: 'me', ts: day(3, 23) + 1, status: 'failed' };
      const sending = { client_msg_id: 's', from: 'me', ts: day(5, 13), status: 'sending' };
      return rows(msgs, [sending, failed], { unreadAfter: 2, me: 'me', now: day(5, 14) }).map((r) =>
        r.kind === 'msg' ? r.m.seq || r.m.client_msg_id : r.kind === 'day' ? r.label : 'NEW',
      );
    });
    assert.match(rows[0], /January 3/);
    assert.deepEqual(rows.slice(1), [1, 2, 'f', 'Yesterday', 'NEW', 3, 'Today', 4, 's'], 'a failed send stays where it was written; the one in flight is last');
  });

  test('links in text open in a new tab; text never becomes markup', async () => {
    const text = 'see https://example.com/a?b=1&c=2. or javascript:alert(1) <img src=x onerror=alert(1)> <b>bold</b>';
    await send(eve, text);
    const bubble = message(finn, 'see https://example.com');
    await bubble.waitFor();
    const links = await bubble.locator('.text a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.target, a.rel, a.textContent]));
    assert.deepEqual(links, [['https://example.com/a?b=1&c=2', '_blank', 'noopener noreferrer', 'https://example.com/a?b=1&c=2']]);
    assert.equal(await bubble.locator('.text').textContent(), text, 'the text is shown as written');
    assert.equal(await bubble.locator('img, b').count(), 0, 'no markup from text');
  });

  test('an image opens full size in a viewer, keyboard and all', async () => {
    await eve.locator('#file-input').setInputFiles({ name: 'lake.png', mimeType: 'image/png', buffer: await png(eve, { width: 160, height: 100 }) });
    const view = finn.getByRole('button', { name: 'View lake.png' });
    await view.locator('img').waitFor();
    await finn.waitForFunction((el) => el.complete && el.naturalWidth === 160, await view.locator('img').elementHandle());
    await view.focus();
    await finn.keyboard.press('Enter');
    const dialog = finn.getByRole('dialog', { name: 'lake.png' });
    await dialog.waitFor();
    assert.match(await finn.locator('#viewer-img').getAttribute('src'), /^blob:/);
    assert.equal(await finn.evaluate(() => document.activeElement.id), 'viewer-close');
    await finn.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await finn.evaluate(() => document.activeElement.getAttribute('aria-label')), 'View lake.png', 'focus returns');
    // The Close button too.
    await view.click();
    await dialog.waitFor();
    await finn.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  test('an upload shows its progress and can be cancelled', async () => {
    // Hold the upload at the network so that it is still running when Cancel is pressed.
    let held;
    const arrived = new Promise((resolve) => {
      eve.route('**/v1/files?*', (route) => {
        held = route;
        resolve();
      });
    });
    await eve.locator('#file-input').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(256 * 1024, 7) });
    await eve.locator('#upload', { hasText: 'Uploading big.bin' }).waitFor();
    await eve.getByRole('progressbar', { name: /Uploading big\.bin/ }).waitFor();
    await arrived;
    await eve.getByRole('button', { name: 'Cancel upload' }).click();
    await eve.locator('#toast', { hasText: 'Upload of big.bin cancelled.' }).waitFor();
    await eve.locator('#upload').waitFor({ state: 'hidden' });
    await held.abort().catch(() => {});
    await eve.unroute('**/v1/files?*');

    // Unheld, the same file goes through and is sent.
    await eve.locator('#file-input').setInputFiles({ name: 'small.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096, 1) });
    await message(finn, 'small.bin').waitFor();
    assert.equal(await message(finn, 'big.bin').count(), 0, 'the cancelled file was never sent');
  });

  test('the emoji picker searches Emojibase data and inserts the choice', async () => {
    await eve.getByRole('button', { name: 'Insert emoji' }).click();
    const search = eve.getByLabel('Search emoji');
    await search.waitFor();
    await eve.waitForFunction(() => document.activeElement?.id === 'emoji-search');
    // The whole set, by group.
    await eve.locator('#emoji-grid .emoji-group', { hasText: 'animals & nature' }).waitFor();
    assert.ok((await eve.locator('#emoji-grid button').count()) > 1500);
    await search.fill('rocket');
    await eve.locator('#emoji-status', { hasText: 'found' }).waitFor();
    await search.press('ArrowDown');
    assert.equal(await eve.evaluate(() => document.activeElement.textContent), '🚀');
    await eve.keyboard.press('Enter');
    await eve.locator('#emoji-panel').waitFor({ state: 'hidden' });
    assert.equal(await eve.getByLabel('Message', { exact: true }).inputValue(), '🚀');
    await eve.getByRole('button', { name: 'Insert emoji' }).click();
    await search.fill('zzzz-no-such-emoji');
    await eve.locator('#emoji-status', { hasText: 'No emoji found.' }).waitFor();
    await search.press('Escape');
    await eve.locator('#emoji-panel').waitFor({ state: 'hidden' });
    await eve.getByLabel('Message', { exact: true }).press('Enter');
    await message(finn, '🚀').locator('.text.big').waitFor();
  });

  test('keyboard only: start a chat, write, pick an emoji, send', async () => {
    await toList(eve);
    await eve.locator('#start-user').focus();
    await eve.keyboard.type('finn');
    await eve.keyboard.press('Enter');
    await eve.locator('#chat-title', { hasText: 'finn' }).waitFor();
    // Opening a chat puts the focus in the message box.
    await eve.waitForFunction(() => document.activeElement?.id === 'composer-text');
    await eve.keyboard.type('by keyboard ');
    await eve.keyboard.press('Shift+Tab');
    await eve.keyboard.press('Shift+Tab');
    assert.equal(await eve.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Insert emoji');
    await eve.keyboard.press('Enter');
    await eve.waitForFunction(() => document.activeElement?.id === 'emoji-search');
    // The last search is selected, so typing replaces it.
    await eve.keyboard.type('thumbs up');
    await eve.locator('#emoji-status', { hasText: /^\d+ found$/ }).waitFor();
    await eve.keyboard.press('Enter');
    await eve.waitForFunction(() => document.activeElement?.id === 'composer-text');
    await eve.keyboard.press('Enter');
    await message(finn, 'by keyboard 👍').waitFor();
    // Every control the user can reach has a name.
    const unnamed = await eve.evaluate(() =>
      [...document.querySelectorAll('button, input, textarea, select, a[href]')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unnamed, []);
  });

  test('the vendored emoji data is the pinned package’s, unchanged', () => {
    for (const file of ['compact.json', 'messages.json']) {
      const vendored = readFileSync(join(ROOT, 'web/vendor/emojibase', file));
      const installed = readFileSync(join(here, 'node_modules/emojibase-data/en', file));
      assert.ok(vendored.equals(installed), `web/vendor/emojibase/${file} differs from emojibase-data`);
    }
  });
});
