// The main views — login, chat list, an open conversation, the image viewer, group
// members, the account panel, the emoji picker, a conversation with a reply, an edit and
// reactions, search results, the profile panel, group settings — in light and dark (`prefers-color-scheme`), at desktop and phone width: each
// is checked with axe-core (no `serious` or `critical` violation may appear), and the
// screenshots of docs/ are taken on the way (KOI_SCREENSHOTS=1 writes them there).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture, userPage, openPage, chatWith, send, message, shot, png, createGroup, PHONE } from './helpers.js';

const env = fixture();
const here = dirname(fileURLToPath(import.meta.url));
const AXE = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
const SCHEMES = ['light', 'dark'];

/** Fails on any serious or critical axe violation of `page` as it is now, in both schemes. */
async function accessible(page, view) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${AXE}\n;0`);
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    // A node the page re-rendered while axe ran is judged detached (its target
    // reads `:root > …`, its colours unknown): such a run is taken again, at
    // most twice, on the page as it is by then.
    let found = [];
    for (let run = 0; run < 3; run += 1) {
      const { list, detached } = await page.evaluate(async () => {
        const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
        const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        return {
          list: serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ')}`),
          detached: serious.some((v) => v.nodes.some((n) => n.target.some((t) => String(t).startsWith(':root >')))),
        };
      });
      found = list;
      if (!detached) break;
    }
    assert.deepEqual(found, [], `${view} (${scheme}): serious or critical accessibility violations`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Both screenshots of `page` as it is now: `name.png` (light) and `name-dark.png`. */
async function shots(page, name) {
  await page.locator('#toast').waitFor({ state: 'hidden' });
  // A phone has no pointer resting on a message (and showing its actions).
  if (page.viewportSize().width <= PHONE.width) await page.mouse.move(0, 0);
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction(() => [...document.images].every((i) => i.complete));
    await shot(page, scheme === 'light' ? `${name}.png` : `${name}-dark.png`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

let ann;
let bo;

test('login view', async () => {
  const page = await openPage(env.browser, `${env.koi.base}/`);
  env.pages.push(page);
  await page.locator('#login-user').waitFor();
  await accessible(page, 'login');
  await page.context().close();
});

test('chat list and an open conversation at desktop width', async () => {
  ann = await userPage(env, 'ann');
  bo = await userPage(env, 'bo');
  await env.koi.register('cy');
  // Contacts both ways, so that presence shows.
  await ann.locator('#contacts-panel summary').click();
  await ann.getByLabel('Username to add').fill('bo');
  await ann.getByRole('button', { name: 'Add', exact: true }).click();
  await bo.locator('#contacts-panel summary').click();
  await bo.locator('#contact-list li', { hasText: 'ann' }).getByRole('button', { name: 'Accept' }).click();
  await ann.locator('#contact-list li', { hasText: 'bo' }).locator('.dot.on').waitFor();
  await accessible(ann, 'chat list');

  await chatWith(ann, 'bo');
  await send(ann, 'Morning! The pond photos are up: https://example.com/pond');
  await bo.locator('.conv-item[data-conv="d:ann:bo"]').click();
  await message(bo, 'pond photos').waitFor();
  await bo.locator('#file-input').setInputFiles({ name: 'pond.png', mimeType: 'image/png', buffer: await png(bo, { width: 240, height: 150, color: '#1f6f8b' }) });
  await send(bo, 'Here is mine from Sunday 🐟');
  await send(bo, '🎉');
  await message(ann, '🎉').waitFor();
  await send(ann, 'Lovely. Tea at 6?');
  await message(ann, 'Lovely').locator('.seen').waitFor();
  await ann.locator('#msg-list img').waitFor();
  await accessible(ann, 'open conversation');
  await shots(ann, 'chat-desktop');
  await ann.getByRole('button', { name: 'View pond.png' }).click();
  await ann.getByRole('dialog', { name: 'pond.png' }).waitFor();
  await accessible(ann, 'image viewer');
  await ann.keyboard.press('Escape');
  await ann.getByRole('dialog', { name: 'pond.png' }).waitFor({ state: 'hidden' });
});

test('group members and the account panel', async () => {
  await createGroup(ann, 'Pond keepers', ['bo', 'cy']);
  await ann.getByRole('button', { name: 'Group members' }).click();
  await ann.locator('#member-list li').nth(2).waitFor();
  await accessible(ann, 'group members');
  await ann.getByRole('button', { name: 'Close group panel' }).click();

  await ann.locator('#account-panel summary').click();
  await ann.locator('#session-list li').first().waitFor();
  await accessible(ann, 'account panel');
  await ann.locator('#account-panel summary').click();
  await ann.getByRole('button', { name: 'Insert emoji' }).click();
  await ann.locator('#emoji-grid button').first().waitFor();
  await accessible(ann, 'emoji picker');
  await ann.keyboard.press('Escape');
});

test('replies, an edit and reactions; search results', async () => {
  await ann.locator('.conv-item[data-conv="d:ann:bo"]').click();
  await message(ann, 'Here is mine').hover();
  await message(ann, 'Here is mine').getByRole('button', { name: 'Reply to this message' }).click();
  await send(ann, 'Beautiful colours');
  const box = ann.getByLabel('Message', { exact: true });
  await message(ann, 'Beautiful colours').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
  await box.press('ArrowUp');
  await box.fill('Beautiful colours! Is that the big one?');
  await box.press('Enter');
  await message(bo, 'Is that the big one?').locator('.edited').waitFor();
  for (const [page, text, emoji] of [[bo, 'Tea at 6', 'thumbs up'], [ann, 'Tea at 6', 'fish'], [bo, 'big one', 'red heart']]) {
    await message(page, text).hover();
    await message(page, text).getByRole('button', { name: 'React to this message' }).click();
    await page.getByLabel('Search emoji').fill(emoji);
    await page.getByLabel('Search emoji').press('Enter');
  }
  await message(ann, 'big one').locator('.reaction').waitFor();
  await message(ann, 'Tea at 6').locator('.reaction-count', { hasText: '1' }).nth(1).waitFor();
  await box.fill('Yes, 6 works');
  await box.press('Enter');
  await message(bo, 'Yes, 6 works').waitFor();
  await message(ann, 'Beautiful').hover();
  await accessible(ann, 'conversation with a reply, an edit and reactions');
  await shots(ann, 'chat-lifecycle');

  await ann.getByLabel('Search messages').fill('pond');
  await ann.locator('#search-results .search-hit').first().waitFor();
  await accessible(ann, 'search results');
  await ann.getByLabel('Search messages').press('Escape');
});

test('a profile, your own with privacy, and group settings', async () => {
  await ann.getByRole('button', { name: 'Your profile' }).click();
  await ann.getByLabel('Display name').fill('Ann Abbott');
  await ann.getByLabel('Status').fill('Feeding the koi at dawn');
  await ann.getByRole('button', { name: 'Save profile' }).click();
  await ann.locator('#profile-avatar').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await png(ann, { width: 200, height: 160, color: '#7a4fb0' }) });
  await ann.locator('#profile-view .avatar-pic img').waitFor();
  await ann.getByRole('button', { name: 'Close profile' }).click();
  await bo.evaluate(() => (location.hash = ''));
  await bo.locator('.conv-item[data-conv="d:ann:bo"]').click();
  await bo.locator('#chat-title', { hasText: 'Ann Abbott' }).waitFor();
  await bo.getByRole('button', { name: 'Profile', exact: true }).click();
  await bo.locator('#profile-view .avatar-pic img').waitFor();
  await accessible(bo, 'profile panel');
  await shots(bo, 'profile');
  await bo.getByRole('button', { name: 'Close profile' }).click();
  await ann.getByRole('button', { name: 'Your profile' }).click();
  await ann.locator('#privacy-form').waitFor();
  await accessible(ann, 'own profile and privacy');
  await ann.getByRole('button', { name: 'Close profile' }).click();

  await ann.locator('.conv-item', { hasText: 'Pond keepers' }).click();
  await ann.getByRole('button', { name: 'Group members' }).click();
  await ann.getByLabel('Description').fill('Feeding rota, water tests and photos.');
  await ann.getByRole('button', { name: 'Save group settings' }).click();
  await ann.locator('#info-desc', { hasText: 'Feeding rota' }).waitFor();
  await accessible(ann, 'group settings');
  await shots(ann, 'group-settings');
  await ann.getByRole('button', { name: 'Close group panel' }).click();
});

test('the chat list and a conversation at phone width', async () => {
  const phone = await userPage(env, 'bo', { register: false, ...PHONE });
  await phone.locator('.conv-item[data-conv="d:ann:bo"] .dot.on').waitFor();
  await phone.waitForFunction(() => [...document.querySelectorAll('.conv-preview')].every((p) => p.textContent !== ''));
  await accessible(phone, 'phone chat list');
  await shots(phone, 'chat-phone-list');
  await phone.locator('.conv-item[data-conv="d:ann:bo"]').click();
  await message(phone, 'Tea at 6').waitFor();
  await phone.locator('#msg-list img').waitFor();
  await accessible(phone, 'phone conversation');
  await shots(phone, 'chat-phone');
});

test("a group conversation: other members' avatars beside their messages, desktop and phone", async () => {
  // ann has a picture (above); bo has none and shows his initial to her.
  await ann.locator('.conv-item', { hasText: 'Pond keepers' }).click();
  await send(ann, 'Feeding at 7 tomorrow');
  await send(ann, 'Bring the net');
  await message(ann, 'Bring the net').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
  await bo.locator('.conv-item', { hasText: 'Pond keepers' }).click();
  await message(bo, 'Bring the net').locator('.face img').waitFor();
  await send(bo, 'I will be there');
  await message(ann, 'I will be there').locator('.face .avatar-pic', { hasText: 'B' }).waitFor();
  await accessible(bo, 'group conversation');
  await shots(bo, 'group-chat');
  const phone = await userPage(env, 'bo', { register: false, ...PHONE });
  await phone.locator('.conv-item', { hasText: 'Pond keepers' }).click();
  await message(phone, 'Bring the net').locator('.face img').waitFor();
  await accessible(phone, 'phone group conversation');
  await shots(phone, 'group-chat-phone');
  // Nothing sticks out at phone width.
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scrolling');
});
