// Two and three users chatting live in separate browser contexts.
// Each test runs at desktop and at phone width, on one node per width (issue #23).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture, PASSWORD, openPage, logIn, send, message, png, toList, VIEWPORTS } from './helpers.js';

for (const { name: width, view } of VIEWPORTS) describe(width, () => {
  const env = fixture();

  async function user(name) {
    const page = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(page);
    await logIn(page, name);
    return page;
  }

  let alice;
  let bob;

  test('two users register, add each other and chat both ways live', async () => {
    alice = await user('alice');
    bob = await user('bob');

    // alice asks; bob gets the request (a system message) and accepts.
    await alice.locator('#contacts-panel summary').click();
    await alice.getByLabel('Username to add').fill('bob');
    await alice.getByRole('button', { name: 'Add', exact: true }).click();
    await alice.locator('#contact-list', { hasText: 'request sent' }).waitFor();
    await bob.locator('#contacts-badge', { hasText: '1 new' }).waitFor();
    await bob.locator('#contacts-panel summary').click();
    await bob.locator('#contact-list li', { hasText: 'alice' }).getByRole('button', { name: 'Accept' }).click();
    await alice.locator('#contact-list li', { hasText: 'bob' }).getByRole('button', { name: 'Chat' }).waitFor();
    // Mutual contacts see each other online.
    await alice.locator('#contact-list li', { hasText: 'bob' }).locator('.dot.on').waitFor();

    await alice.locator('#contact-list li', { hasText: 'bob' }).getByRole('button', { name: 'Chat' }).click();
    await alice.locator('#chat-title', { hasText: 'bob' }).waitFor();
    await send(alice, 'hello bob 👋');
    await message(alice, 'hello bob').waitFor();

    // bob sees the conversation with one unread message, opens it.
    const item = bob.locator('.conv-item[data-conv="d:alice:bob"]');
    await item.locator('.badge', { hasText: '1' }).waitFor();
    await item.click();
    await message(bob, 'hello bob').waitFor();
    await assert.doesNotReject(item.locator('.badge').waitFor({ state: 'detached' }));

    // alice sees "Seen" once bob has read it.
    await message(alice, 'hello bob').locator('.seen').waitFor();

    // Typing shows on the other side.
    await bob.getByLabel('Message', { exact: true }).pressSequentially('hi');
    await alice.locator('#typing', { hasText: 'bob is typing' }).waitFor();
    await bob.getByLabel('Message', { exact: true }).fill('');

    await send(bob, 'hi alice');
    await message(alice, 'hi alice').waitFor();
    await send(alice, 'how are you?');
    await message(bob, 'how are you?').waitFor();

    // Order is the same on both sides.
    const texts = (p) => p.locator('#msg-list li .text').allTextContents();
    assert.deepEqual(await texts(alice), ['hello bob 👋', 'hi alice', 'how are you?']);
    assert.deepEqual(await texts(bob), ['hello bob 👋', 'hi alice', 'how are you?']);
  });

  test('an image upload shows in the other user\'s view', async () => {
    await alice.locator('#file-input').setInputFiles({ name: 'koi.png', mimeType: 'image/png', buffer: await png(alice, { width: 120, height: 80, color: '#d9512c' }) });
    const img = bob.locator('#msg-list img[alt="koi.png"]');
    await img.waitFor();
    await bob.waitForFunction((el) => el.complete && el.naturalWidth === 120, await img.elementHandle());
    // A plain file is a download link.
    await bob.locator('#file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    const link = alice.locator('#msg-list a.file', { hasText: 'notes.txt' });
    await link.waitFor();
    const [download] = await Promise.all([alice.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'notes.txt');
    assert.equal(readFileSync(await download.path(), 'utf8'), 'hello');
  });

  test('a recent message of ones own can be recalled', async () => {
    await send(bob, 'oops, wrong chat');
    await message(alice, 'oops, wrong chat').waitFor();
    // A message's actions show while it is hovered.
    await message(bob, 'oops, wrong chat').hover();
    await message(bob, 'oops, wrong chat').getByRole('button', { name: 'Recall this message' }).click();
    await alice.locator('#msg-list li', { hasText: 'Message recalled' }).waitFor();
    await message(alice, 'oops, wrong chat').waitFor({ state: 'detached' });
  });

  test('scroll-back loads older messages', async () => {
    await env.koi.register('dave');
    // dave writes 70 messages to bob over a bare WebSocket (from alice's page, as any client could).
    await alice.evaluate(async (password) => {
      const post = { method: 'POST', headers: { 'Content-Type': 'application/json' } };
      const login = await fetch('/v1/login', { ...post, body: JSON.stringify({ username: 'dave', password }) });
      const { token } = await login.json();
      const { nodes } = await (await fetch('/v1/dispatch', { headers: { Authorization: `Bearer ${token}` } })).json();
      const ws = new WebSocket(nodes[0].ws);
      await new Promise((r) => (ws.onopen = r));
      const waiting = new Map();
      ws.onmessage = (ev) => {
        const f = JSON.parse(ev.data);
        waiting.get(f.id)?.(f);
      };
      let id = 0;
      const req = (op, body) =>
        new Promise((r) => {
          waiting.set(++id, r);
          ws.send(JSON.stringify({ id, [op]: body }));
        });
      await req('auth', { token });
      for (let i = 1; i <= 70; i++) {
        const reply = await req('send', { to: 'bob', client_msg_id: `s${i}`, kind: 'text', text: `old ${i}.` });
        if (!reply.ok) throw new Error(JSON.stringify(reply));
      }
      ws.close();
    }, PASSWORD);
    // bob's open page got them live; a new device of his starts from history.
    await toList(bob);
    await bob.locator('.conv-item[data-conv="d:bob:dave"] .badge', { hasText: '70' }).waitFor();
    const device = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(device);
    await logIn(device, 'bob', { register: false });
    await device.locator('.conv-item[data-conv="d:bob:dave"] .badge', { hasText: '70' }).waitFor();
    await device.locator('.conv-item[data-conv="d:bob:dave"]').click();
    await message(device, 'old 70.').waitFor();
    // The latest page (50 messages) is shown; wait for it rather than snapshot mid-render.
    await device.waitForFunction(() => document.querySelectorAll('#msg-list li.msg').length === 50, null, { timeout: 10_000 });
    assert.equal(await device.locator('#msg-list li.msg').count(), 50, 'the latest page');
    await device.getByRole('button', { name: 'Load earlier messages' }).waitFor();
    await device.locator('#messages').evaluate((box) => (box.scrollTop = 0));
    await message(device, 'old 1.').waitFor();
    assert.equal(await device.locator('#msg-list li.msg').count(), 70);
    await device.getByRole('button', { name: 'Load earlier messages' }).waitFor({ state: 'hidden' });
    // Reading on one device clears the count on the other.
    await bob.locator('.conv-item[data-conv="d:bob:dave"] .badge').waitFor({ state: 'detached' });
    await device.context().close();
  });

  test('a group of three', async () => {
    const carol = await user('carol');
    await toList(alice);
    await alice.locator('#groups-panel summary').click();
    await alice.getByLabel('New group name').fill('Trio');
    await alice.locator('#group-members').fill('bob, carol');
    await alice.getByRole('button', { name: 'Create group' }).click();
    await alice.locator('#chat-title', { hasText: 'Trio' }).waitFor();
    await message(alice, 'created the group').waitFor();

    for (const p of [bob, carol]) {
      await toList(p);
      await p.locator('.conv-item', { hasText: 'Trio' }).click();
      await p.locator('#chat-title', { hasText: 'Trio' }).waitFor();
      await message(p, 'created the group').waitFor();
    }
    await send(bob, 'bob here');
    await send(carol, 'carol here');
    await send(alice, 'welcome both');
    for (const p of [alice, bob, carol]) {
      for (const t of ['bob here', 'carol here', 'welcome both']) await message(p, t).waitFor();
    }
    // Senders are named in groups.
    await message(carol, 'bob here').locator('.from', { hasText: 'bob' }).waitFor();

    // Members, via group_info.
    await carol.getByRole('button', { name: 'Group members' }).click();
    await carol.locator('#member-list li').nth(2).waitFor();
    assert.equal(await carol.locator('#member-list li').count(), 3);
    await carol.locator('#member-list li', { hasText: 'alice' }).getByText('owner').waitFor();
    await carol.getByRole('button', { name: 'Close group panel' }).click();

    // The owner removes a member: she sees why, and can no longer write there.
    await alice.getByRole('button', { name: 'Group members' }).click();
    await alice.getByRole('button', { name: 'Remove carol' }).click();
    await message(carol, 'removed carol').waitFor();
    await carol.locator('#composer').waitFor({ state: 'hidden' });
    await alice.locator('#member-list li', { hasText: 'carol' }).waitFor({ state: 'detached' });
    await alice.getByRole('button', { name: 'Close group panel' }).click();
  });
});
