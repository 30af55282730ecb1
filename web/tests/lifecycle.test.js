// The message lifecycle of §11 in the page: edits, reactions, replies, delete for me,
// moderators' recall, @mentions, "read by", unread and mention counts from `sync`, and
// group changes as notice lines. Each change made on one page shows in place on another.
// Each test runs at desktop and at phone width, on one node per width (issue #23).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, userPage, chatWith, send, message, createGroup , toList, noChatOpen, VIEWPORTS } from './helpers.js';


for (const { name, view } of VIEWPORTS) describe(name, () => {
  const env = fixture();
  let ann;
  let ben;

  /** The bubble of the message with `text` on `page`. */
  const bubble = (page, text) => message(page, text).locator('.bubble');

  test('Up edits your last message in place; Escape cancels; the other side sees "edited"', async () => {
    ann = await userPage(env, 'ann', view);
    ben = await userPage(env, 'ben', view);
    await chatWith(ann, 'ben');
    await send(ann, 'helo wrld');
    await message(ann, 'helo wrld').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
    await toList(ben);
    await ben.locator('.conv-item[data-conv="d:ann:ben"]').click();
    await message(ben, 'helo wrld').waitFor();
    const before = await message(ben, 'helo wrld').elementHandle();

    const box = ann.getByLabel('Message', { exact: true });
    // Escape leaves edit mode with the box empty again.
    await box.press('ArrowUp');
    await ann.locator('#compose-ctx', { hasText: 'Editing' }).waitFor();
    assert.equal(await box.inputValue(), 'helo wrld');
    await box.press('Escape');
    await ann.locator('#compose-ctx').waitFor({ state: 'hidden' });
    assert.equal(await box.inputValue(), '');

    await box.press('ArrowUp');
    await box.fill('hello world');
    await box.press('Enter');
    await bubble(ann, 'hello world').locator('.edited').waitFor();
    await bubble(ben, 'hello world').locator('.edited').waitFor();
    // The same element, changed in place; the old text is gone everywhere.
    assert.ok(await before.evaluate((li) => li.isConnected && li.textContent.includes('hello world')));
    assert.equal(await message(ben, 'helo wrld').count(), 0);
    assert.equal(await message(ann, 'helo wrld').count(), 0);
  });

  test('reactions: a picker, counts, who reacted, and taking one back', async () => {
    // The emoji data is held back until after Enter: the first match is picked when it comes
    // (a quick typist, or a slow network, must not lose the choice).
    const emojiData = '**/static/vendor/emojibase/**';
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await ben.route(emojiData, async (route) => { await held; await route.continue(); });
    await message(ben, 'hello world').hover();
    await message(ben, 'hello world').getByRole('button', { name: 'React to this message' }).click();
    await ben.getByLabel('Search emoji').fill('thumbs up');
    await ben.getByLabel('Search emoji').press('Enter');
    release();
    const mine = bubble(ben, 'hello world').locator('.reaction', { hasText: '👍' });
    await mine.locator('.reaction-count', { hasText: '1' }).waitFor();
    await ben.unroute(emojiData);
    assert.equal(await mine.getAttribute('aria-pressed'), 'true');
    // ann sees ben's reaction, with his name, and adds hers by pressing it.
    const theirs = bubble(ann, 'hello world').locator('.reaction', { hasText: '👍' });
    await theirs.locator('.reaction-count', { hasText: '1' }).waitFor();
    assert.equal(await theirs.getAttribute('data-who'), 'ben');
    assert.equal(await theirs.getAttribute('aria-pressed'), 'false');
    await theirs.click();
    await theirs.locator('.reaction-count', { hasText: '2' }).waitFor();
    await mine.locator('.reaction-count', { hasText: '2' }).waitFor();
    // ben takes his back: one left, ann's.
    await mine.click();
    await theirs.locator('.reaction-count', { hasText: '1' }).waitFor();
    assert.equal(await theirs.getAttribute('data-who'), 'you');
    // ben's page follows his own unreact when its reply comes, which may be after ann's push.
    await bubble(ben, 'hello world').locator('.reaction[aria-pressed="false"]', { hasText: '👍' }).waitFor();
  });

  test('reply: a quote above the message; clicking it shows the original', async () => {
    await message(ben, 'hello world').hover();
    await message(ben, 'hello world').getByRole('button', { name: 'Reply to this message' }).click();
    await ben.locator('#compose-ctx', { hasText: 'Replying to ann: hello world' }).waitFor();
    await send(ben, 'a reply to you');
    for (const page of [ben, ann]) {
      const q = bubble(page, 'a reply to you').locator('.quote');
      await q.waitFor();
      assert.match(await q.textContent(), /hello world/);
    }
    await ben.locator('#compose-ctx').waitFor({ state: 'hidden' });
    await bubble(ann, 'a reply to you').locator('.quote').click();
    await ann.locator('#msg-list li.flash', { hasText: 'hello world' }).waitFor();
  });

  test('history shows the current state: edit, reactions and quote on a new device', async () => {
    const again = await userPage(env, 'ben', { register: false, ...view });
    await toList(again);
    await again.locator('.conv-item[data-conv="d:ann:ben"]').click();
    await bubble(again, 'hello world').locator('.edited').waitFor();
    const r = bubble(again, 'hello world').locator('.reaction', { hasText: '👍' });
    await r.locator('.reaction-count', { hasText: '1' }).waitFor();
    assert.equal(await r.getAttribute('data-who'), 'ann');
    await bubble(again, 'a reply to you').locator('.quote', { hasText: 'hello world' }).waitFor();
    // Events only change other messages: none shows as a row of its own.
    assert.deepEqual(await again.locator('#msg-list li.msg .text').allTextContents(), ['hello world', 'a reply to you']);
    await again.context().close();
    env.pages.splice(env.pages.indexOf(again), 1);
  });

  test('delete for me: gone for me (after a reload too), still there for the other', async () => {
    await send(ann, 'oops, private');
    await message(ben, 'oops, private').waitFor();
    await message(ann, 'oops, private').hover();
    await message(ann, 'oops, private').getByRole('button', { name: 'Delete this message for me' }).click();
    await message(ann, 'oops, private').waitFor({ state: 'detached' });
    await ann.reload();
    await message(ann, 'a reply to you').waitFor();
    assert.equal(await message(ann, 'oops, private').count(), 0);
    assert.equal(await message(ben, 'oops, private').count(), 1);
  });

  let cat;

  test('a group: @mention with autocomplete, a mention badge, unread counts without events', async () => {
    cat = await userPage(env, 'cat', view);
    await createGroup(ann, 'Pond', ['ben', 'cat']);
    await toList(ben);
    await ben.locator('.conv-item', { hasText: 'Pond' }).click();
    await ben.locator('#chat-title', { hasText: 'Pond' }).waitFor();
    // The members come from group_info; the list offers those that fit what is typed.
    await ben.locator('#chat-sub', { hasText: '3 members' }).waitFor();
    const box = ben.getByLabel('Message', { exact: true });
    await box.pressSequentially('hey @c');
    await ben.locator('#mention-list [role="option"]', { hasText: '@cat' }).waitFor();
    assert.deepEqual(await ben.locator('#mention-list [role="option"]').allTextContents(), ['@cat']);
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'hey @cat ');
    await box.pressSequentially('look');
    await box.press('Enter');
    await message(ann, 'hey @cat look').waitFor();
    // cat has not opened the group: one unread, and it mentions her.
    const item = cat.locator('.conv-item', { hasText: 'Pond' });
    await item.locator('.badge.at').waitFor();
    await item.locator('.badge:not(.at)', { hasText: '2' }).waitFor(); // ann's "created" note and ben's message
    // A reaction is an event: it is not unread, after a reload (from sync) as well.
    await message(ann, 'hey @cat look').hover();
    await message(ann, 'hey @cat look').getByRole('button', { name: 'React to this message' }).click();
    await ann.getByLabel('Search emoji').fill('fish');
    await ann.getByLabel('Search emoji').press('Enter');
    await bubble(ben, 'hey @cat look').locator('.reaction').waitFor();
    await cat.reload();
    const again = cat.locator('.conv-item', { hasText: 'Pond' });
    await again.locator('.badge.at').waitFor();
    await again.locator('.badge:not(.at)', { hasText: '2' }).waitFor();
    await again.click();
    await message(cat, 'hey @cat look').and(cat.locator('.mentioned')).waitFor();
    await again.locator('.badge').first().waitFor({ state: 'detached' });
  });

  test('the owner recalls any message; "read by N" with the list on tap; member changes as notices', async () => {
    // ann owns the group: she may recall ben's message.
    await message(ann, 'hey @cat look').hover();
    await message(ann, 'hey @cat look').getByRole('button', { name: 'Recall this message' }).click();
    for (const page of [ann, ben, cat]) await message(page, 'Message recalled').waitFor();
    // ben (a member) is not offered a recall of ann's note's neighbours: only his own, within the window.
    await send(ann, 'who reads this?');
    await message(ben, 'who reads this?').waitFor();
    await message(cat, 'who reads this?').waitFor();
    assert.equal(await message(ben, 'who reads this?').getByRole('button', { name: 'Recall this message' }).count(), 0);
    // Opening the group again asks read_by at once.
    await ann.evaluate(() => (location.hash = ''));
    await noChatOpen(ann);
    await toList(ann);
    await ann.locator('.conv-item', { hasText: 'Pond' }).click();
    const readBy = message(ann, 'who reads this?').locator('.read-by', { hasText: 'Read by 2' });
    await readBy.waitFor();
    await readBy.click();
    await message(ann, 'who reads this?').locator('.readers', { hasText: 'Read by ben, cat' }).waitFor();
    // Removing a member is a notice line for everyone (a server event, §11).
    await ann.getByRole('button', { name: 'Group members' }).click();
    await ann.getByRole('button', { name: 'Remove cat' }).click();
    await ben.locator('#msg-list li.event', { hasText: 'ann removed cat' }).waitFor();
    await ann.locator('#msg-list li.event', { hasText: 'ann removed cat' }).waitFor();
    // cat, though out, hears the same event, and her composer goes.
    await cat.locator('#msg-list li.event', { hasText: 'ann removed cat' }).waitFor();
    await cat.locator('#composer').waitFor({ state: 'hidden' });
    assert.equal(await ben.locator('#msg-list li', { hasText: 'removed cat' }).count(), 1);
  });

  test('a short own message in a group gets a bubble that fits it; "Read by" and the actions stay reachable, by keyboard too', async () => {
    await ann.getByRole('button', { name: 'Close group panel' }).click();
    await send(ann, 'Hm');
    const mine = ann.locator('#msg-list li.msg.mine', { has: ann.locator('.text', { hasText: /^Hm$/ }) });
    await mine.locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
    await message(ben, 'Hm').waitFor();
    // Opening the group again asks read_by for the new latest message at once.
    await ann.evaluate(() => (location.hash = ''));
    await noChatOpen(ann);
    await ann.locator('.conv-item', { hasText: 'Pond' }).click();
    const readBy = mine.locator('.read-by', { hasText: /Read by \d/ });
    await readBy.waitFor();
    // The "·" before it is not part of the link (so not underlined with it).
    assert.match(await readBy.innerText(), /^Read by \d+$/);
    assert.match(await mine.locator('.meta').innerText(), /[^\s·] · Read by \d+$/);
    await ann.mouse.move(0, 0);

    // The bubble is as wide as its text or its time line ("12:00 · Read by 1"), whichever is
    // wider: the actions take no room in it. It is far narrower than the column.
    const size = await mine.locator('.bubble').evaluate((b) => {
      const css = getComputedStyle(b);
      const pad = parseFloat(css.paddingLeft) + parseFloat(css.paddingRight) + parseFloat(css.borderLeftWidth) + parseFloat(css.borderRightWidth);
      const width = (node) => node.getBoundingClientRect().width;
      return {
        bubble: width(b),
        content: Math.max(width(b.querySelector('.text')), width(b.querySelector('.meta'))) + pad,
        column: document.getElementById('msg-list').clientWidth,
      };
    });
    assert.ok(size.bubble <= size.content + 1, `the bubble (${size.bubble}px) fits its text and time (${size.content}px)`);
    assert.ok(size.bubble < size.column * 0.4, `the bubble (${size.bubble}px) is well below the column (${size.column}px)`);

    // The actions are hidden until the message is hovered, focused or tapped.
    const acts = mine.locator('.acts');
    const shown = () => acts.evaluate((a) => getComputedStyle(a).opacity === '1');
    assert.equal(await shown(), false);
    await mine.hover();
    assert.equal(await shown(), true);
    await ann.mouse.move(0, 0);
    assert.equal(await shown(), false);
    // By keyboard: Tab goes on from "Read by" to the actions, which show while they hold the focus.
    await readBy.focus();
    await ann.keyboard.press('Tab');
    assert.equal(await ann.evaluate(() => document.activeElement.getAttribute('aria-label')), 'React to this message');
    assert.equal(await shown(), true);
    await ann.keyboard.press('Tab');
    await ann.keyboard.press('Enter');
    await ann.locator('#compose-ctx-text', { hasText: 'Replying to yourself: Hm' }).waitFor();
    await ann.keyboard.press('Escape');
    await ann.locator('#compose-ctx').waitFor({ state: 'hidden' });
    // A tap on the bubble shows them too (a screen without hover), a tap elsewhere hides them.
    await mine.locator('.text').click();
    await ann.mouse.move(0, 0);
    assert.equal(await shown(), true);
    await ann.locator('#chat-title').click();
    assert.equal(await shown(), false);
  });

  test('the actions of the topmost message shown are not cut off at the top of the list', async () => {
    // Enough messages in a short window for the list to scroll; then a message's bubble is
    // scrolled to the very top of the list, leaving no room above it: the last one that
    // starts well above the top when the list is scrolled to its end (well: a list near its
    // end keeps to its end when messages change).
    for (const n of [1, 2, 3, 4, 5]) await send(ann, `filler ${n}`);
    await ann.locator('#msg-list li.mine:not(.sending)', { hasText: 'filler 5' }).waitFor();
    const size = ann.viewportSize();
    await ann.setViewportSize({ width: size.width, height: 320 });
    const index = await ann.evaluate(() => {
      const list = document.getElementById('messages');
      list.scrollTop = list.scrollHeight;
      const top = list.getBoundingClientRect().top;
      const rows = [...document.querySelectorAll('#msg-list li.msg:has(.acts)')];
      const at = rows.findLastIndex((li) => li.querySelector('.bubble').getBoundingClientRect().top <= top - 80);
      if (at >= 0) list.scrollTop -= top - rows[at].querySelector('.bubble').getBoundingClientRect().top;
      return at;
    });
    assert.ok(index >= 0, 'the list scrolls');
    const first = ann.locator('#msg-list li.msg:has(.acts)').nth(index);
    const gap = await first.evaluate((li) => li.querySelector('.bubble').getBoundingClientRect().top - document.getElementById('messages').getBoundingClientRect().top);
    assert.ok(Math.abs(gap) < 1, `the bubble starts at the top of the list (${gap}px from it)`);
    await first.locator('.bubble').hover();
    const where = await first.evaluate((li) => {
      const acts = li.querySelector('.acts');
      const a = acts.getBoundingClientRect();
      const v = document.getElementById('messages').getBoundingClientRect();
      const hit = document.elementFromPoint(a.left + a.width / 2, a.top + a.height / 2);
      return {
        inside: a.top >= v.top && a.bottom <= v.bottom && a.left >= v.left && a.right <= v.right,
        shown: getComputedStyle(acts).opacity === '1',
        reachable: acts.contains(hit),
        box: [a.top, a.bottom, v.top, v.bottom],
      };
    });
    assert.ok(where.shown, 'the actions show on hover');
    assert.ok(where.inside, `the actions lie inside the list's visible box (${where.box})`);
    assert.ok(where.reachable, 'nothing covers them');
    await ann.mouse.move(0, 0);
    await ann.setViewportSize(size);
  });

  test('an event applied twice, or one older than the state held, changes nothing', async () => {
    const out = await ann.evaluate(async () => {
      const { applyEvent } = await import('/static/js/events.js');
      const msg = { conv: 'd:a:b', seq: 5, from: 'a', kind: 'text', text: 'hi', ts: 1, asOf: 5 };
      const react = (seq, from, type, emoji) => ({ conv: 'd:a:b', seq, from, kind: 'event', ts: 2, event: { type, ref: 5, emoji } });
      let m = applyEvent(msg, react(6, 'b', 'react', '👍'), 'a');
      const once = m.reactions;
      m = applyEvent({ ...m, asOf: 0 }, react(6, 'b', 'react', '👍'), 'a'); // seen again from history
      const twice = m.reactions;
      m = applyEvent(m, react(7, 'a', 'react', '👍'), 'a');
      const mine = m.reactions;
      m = applyEvent(m, react(8, 'c', 'unreact', '👍'), 'a'); // c never reacted: nothing to take back
      const stray = m.reactions;
      const edited = applyEvent(m, { conv: 'd:a:b', seq: 9, from: 'a', kind: 'event', ts: 3, event: { type: 'edit', ref: 5, text: 'hello' } }, 'a');
      const stale = applyEvent({ ...edited }, { conv: 'd:a:b', seq: 4, from: 'a', kind: 'event', ts: 3, event: { type: 'edit', ref: 5, text: 'old' } }, 'a');
      const recalled = applyEvent(edited, { conv: 'd:a:b', seq: 10, from: 'a', kind: 'event', ts: 4, event: { type: 'recall', ref: 5 } }, 'a');
      return { once, twice, mine, stray, edited: [edited.text, edited.edited_ts], stale: stale.text, recalled: [recalled.kind, recalled.text, recalled.reactions] };
    });
    assert.deepEqual(out.once, [{ emoji: '👍', count: 1, users: ['b'], me: false }]);
    assert.deepEqual(out.twice, out.once);
    assert.deepEqual(out.mine, [{ emoji: '👍', count: 2, users: ['b', 'a'], me: true }]);
    assert.deepEqual(out.stray, out.mine);
    assert.deepEqual(out.edited, ['hello', 3]);
    assert.equal(out.stale, 'hello');
    assert.deepEqual(out.recalled, ['recalled', undefined, undefined]);
  });
});
