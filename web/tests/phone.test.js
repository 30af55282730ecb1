// The page at phone width (390 × 844): one pane at a time, nothing wider than the
// screen, and the two phone defects of issue #23 — a notice's time wrapping onto its
// own line behind a "·", and "No contacts yet." touching the left edge.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, userPage, chatWith, send, message, PHONE } from './helpers.js';

const env = fixture();

let gil;

/** True when nothing on the page is wider than the viewport. */
const fits = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

test('"No contacts yet." keeps a margin from the edge', async () => {
  gil = await userPage(env, 'gil', PHONE);
  await gil.locator('#contacts-panel summary').click();
  const empty = gil.locator('#contact-list li', { hasText: 'No contacts yet.' });
  await empty.waitFor();
  const left = await empty.evaluate((li) => {
    const range = document.createRange();
    range.selectNodeContents(li);
    return range.getBoundingClientRect().left;
  });
  assert.ok(left >= 12, `the text starts ${left}px from the edge`);
  assert.ok(await fits(gil));
});

test('a notice keeps its time on the same line, without a leading "·"', async () => {
  const hal = await userPage(env, 'hal', PHONE);
  await hal.locator('#contacts-panel summary').click();
  await hal.getByLabel('Username to add').fill('gil');
  await hal.getByRole('button', { name: 'Add', exact: true }).click();
  await gil.locator('#contacts-panel summary').click();
  await gil.locator('.conv-item[data-conv="s:gil"]').click();
  const note = gil.locator('#msg-list li.note', { hasText: 'hal' });
  await note.waitFor();
  const time = note.locator('time');
  assert.match(await time.innerText(), /^\d{1,2}:\d{2}/);
  // The time sits on a line that also holds text of the notice.
  const sameLine = await note.evaluate((li) => {
    const t = li.querySelector('time').getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(li.querySelector('.note-text'));
    const rects = [...range.getClientRects()];
    return rects.some((r) => Math.abs(r.top - t.top) < r.height && r.right <= t.left + 1);
  });
  assert.ok(sameLine, 'the time follows the text on its line');
  assert.doesNotMatch(await note.innerText(), /\n\s*·/);
  assert.ok(await fits(gil));
});

test('one pane at a time: the list, then the chat with a back button', async () => {
  await gil.getByRole('button', { name: 'Back to chats' }).click();
  await chatWith(gil, 'hal');
  assert.equal(await gil.locator('#sidebar').isVisible(), false);
  await gil.getByLabel('Message', { exact: true }).waitFor();
  await send(gil, 'hello from a phone, with a long word: pneumonoultramicroscopicsilicovolcanoconiosis');
  await message(gil, 'hello from a phone').waitFor();
  assert.ok(await fits(gil), 'a long word wraps');
  await gil.getByRole('button', { name: 'Insert emoji' }).click();
  await gil.locator('#emoji-grid button').first().waitFor();
  const panel = await gil.locator('#emoji-panel').boundingBox();
  assert.ok(panel.x >= 0 && panel.x + panel.width <= PHONE.width, 'the emoji picker fits the screen');
  await gil.keyboard.press('Escape');
  await gil.getByRole('button', { name: 'Back to chats' }).click();
  await gil.locator('#sidebar').waitFor();
  assert.equal(await gil.locator('#chat').isVisible(), false);
});

test('a reply, reactions and the profile panel fit a phone; the header keeps its title', async () => {
  await gil.locator('.conv-item[data-conv="d:gil:hal"]').click();
  await message(gil, 'hello from a phone').hover();
  await message(gil, 'hello from a phone').getByRole('button', { name: 'Reply to this message' }).click();
  await send(gil, 'replying on a small screen');
  await message(gil, 'replying on a small screen').locator('.quote').waitFor();
  await message(gil, 'replying on a small screen').hover();
  await message(gil, 'replying on a small screen').getByRole('button', { name: 'React to this message' }).click();
  await gil.getByLabel('Search emoji').fill('fish');
  await gil.getByLabel('Search emoji').press('Enter');
  await message(gil, 'replying on a small screen').locator('.reaction').waitFor();
  assert.ok(await fits(gil), 'nothing wider than the screen');
  const title = await gil.locator('#chat-title').boundingBox();
  assert.ok(title.width >= 60, 'the chat header leaves room for the title');
  await gil.getByRole('button', { name: 'Profile', exact: true }).click();
  const panel = await gil.locator('#profile').boundingBox();
  assert.ok(panel.x >= 0 && panel.x + panel.width <= PHONE.width, 'the profile panel fits the screen');
  await gil.getByRole('button', { name: 'Close profile' }).click();
});
