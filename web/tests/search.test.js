// Message search (§11 `search`): a box above the chat list; results, newest first,
// replace the list while a query is in the box; a result opens its conversation at that
// message, loading older pages when it is further back than the first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, userPage, chatWith, send, message, toList, VIEWPORTS } from './helpers.js';

const env = fixture();

for (const { name, suffix, view } of VIEWPORTS) test(`a search finds an old message and opens the conversation at it (${name})`, async () => {
  const [a, b] = [`ann${suffix}`, `ben${suffix}`];
  const ann = await userPage(env, a, view);
  const ben = await userPage(env, b, view);
  await chatWith(ann, b);
  await send(ann, 'the koi pond is deep');
  await message(ann, 'the koi pond is deep').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
  // More than the first page (50) after it, so the match is not loaded when the chat opens.
  for (let i = 1; i <= 55; i++) await send(ann, `filler ${i}`);
  await message(ann, 'filler 55').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });

  const box = ben.getByLabel('Search messages');
  await box.fill('POND de');
  const hit = ben.locator('#search-results .search-hit');
  await hit.first().waitFor();
  assert.equal(await hit.count(), 1);
  assert.match(await hit.textContent(), new RegExp(`${a}: the koi pond is deep`));
  await ben.locator('#search-status', { hasText: '1 message found' }).waitFor();
  assert.ok(await ben.locator('#conv-list').isHidden(), 'the results stand in for the chat list');
  await hit.click();
  await ben.locator('#chat-title', { hasText: a }).waitFor();
  await ben.locator('#msg-list li.flash', { hasText: 'the koi pond is deep' }).waitFor();

  // On a phone the chat took the screen: back to the list, where the search box is.
  await toList(ben);

  // Nothing found says so; Escape brings the chat list back.
  await box.fill('carp');
  await ben.locator('#search-status', { hasText: 'Nothing found for “carp”.' }).waitFor();
  await box.press('Escape');
  await ben.locator('#conv-list .conv-item').first().waitFor();
  assert.equal(await box.inputValue(), '');
});
