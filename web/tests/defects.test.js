// The defects of issue #23, each reproduced against the real server at desktop and at phone
// width (one node per width, so the names stay the same):
// recall in the sender's own view, a failed send that can be edited or discarded, a
// direct chat with a bad or unknown name, registration names, a contact request's
// buttons after accepting, and one's own presence dot among group members.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, userPage, openPage, logIn, chatWith, send, message, bubbleTexts, createGroup, openConv, toList, noChatOpen, VIEWPORTS } from './helpers.js';

for (const { name, view } of VIEWPORTS) describe(name, () => {
  const env = fixture();
  let amy;
  let ben;

  test('recalling a message updates the sender’s own view at once', async () => {
    amy = await userPage(env, 'amy', view);
    ben = await userPage(env, 'ben', view);
    await chatWith(amy, 'ben');
    await send(amy, 'recall me please');
    const mine = message(amy, 'recall me please');
    await mine.hover();
    await mine.getByRole('button', { name: 'Recall this message' }).click();
    await amy.locator('#msg-list li.msg', { hasText: 'Message recalled' }).waitFor();
    await mine.waitFor({ state: 'detached' });
    assert.equal(await amy.getByRole('button', { name: 'Recall this message' }).count(), 0);
  });

  test('a message over 16 KiB cannot be sent: the counter says so first', async () => {
    const box = amy.getByLabel('Message', { exact: true });
    await box.fill('x'.repeat(13_000));
    await amy.locator('#composer-count', { hasText: '13,000 of 16,384 bytes' }).waitFor();
    assert.equal(await amy.locator('#send-btn').isDisabled(), false);

    await box.fill('y'.repeat(20_000));
    await amy.locator('#composer-count', { hasText: 'Too long to send' }).waitFor();
    assert.equal(await amy.locator('#send-btn').isDisabled(), true);
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    const before = await amy.locator('#msg-list li.msg').count();
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'y'.repeat(20_000), 'Enter keeps the text');
    assert.equal(await amy.locator('#msg-list li.msg').count(), before, 'nothing was sent');

    // Exactly at the bound (multi-byte characters count as their UTF-8 bytes) it is allowed.
    await box.fill('é'.repeat(8192));
    await amy.locator('#composer-count', { hasText: '16,384 of 16,384 bytes' }).waitFor();
    assert.equal(await amy.locator('#send-btn').isDisabled(), false);
    await box.fill('');
    await amy.locator('#composer-count').waitFor({ state: 'hidden' });
  });

  test('a failed send offers Edit and Discard, Retry only when it can succeed, and is not pinned below newer messages', async () => {
    // ben blocks amy: her next message fails for good.
    await chatWith(ben, 'amy');
    await ben.locator('#block-btn', { hasText: 'Block' }).click();
    await ben.locator('#block-btn', { hasText: 'Unblock' }).waitFor();
    await send(amy, 'are you there?');
    const failed = amy.locator('#msg-list li.msg.failed', { hasText: 'are you there?' });
    await failed.waitFor();
    await failed.getByText('ben blocked you').waitFor();
    assert.equal(await failed.getByRole('button', { name: 'Retry' }).count(), 0, 'a block is not transient');

    // ben unblocks and writes: his message comes after amy's failed one.
    await ben.locator('#block-btn').click();
    await ben.locator('#block-btn', { hasText: 'Block' }).waitFor();
    await send(ben, 'sorry, back now');
    await message(amy, 'sorry, back now').waitFor();
    const texts = await bubbleTexts(amy);
    assert.ok(texts.indexOf('are you there?') < texts.indexOf('sorry, back now'), `in order: ${texts}`);

    // Edit takes the text back into the composer; sending it again works.
    await failed.getByRole('button', { name: 'Edit this message' }).click();
    await failed.waitFor({ state: 'detached' });
    assert.equal(await amy.getByLabel('Message', { exact: true }).inputValue(), 'are you there?');
    await amy.getByLabel('Message', { exact: true }).press('Enter');
    await amy.locator('#msg-list li.msg.mine:not(.sending):not(.failed)', { hasText: 'are you there?' }).waitFor();
    await message(ben, 'are you there?').waitFor();

    // Discard drops a failed message.
    await ben.locator('#block-btn').click();
    await ben.locator('#block-btn', { hasText: 'Unblock' }).waitFor();
    await send(amy, 'one more try');
    const again = amy.locator('#msg-list li.msg.failed', { hasText: 'one more try' });
    await again.getByRole('button', { name: 'Discard this message' }).click();
    await again.waitFor({ state: 'detached' });
    await ben.locator('#block-btn').click();
    await ben.locator('#block-btn', { hasText: 'Block' }).waitFor();

    // Which failures are worth a retry: the connection, the rate, the server; not the content.
    const retryable = await amy.evaluate(async () => {
      const { transient } = await import('/static/js/chat.js');
      return Object.fromEntries(
        ['closed', 'timeout', 'rate_limited', 'unavailable', 'too_large', 'blocked', 'forbidden', 'not_found', 'bad_request'].map((c) => [c, transient(c)]),
      );
    });
    assert.deepEqual(retryable, {
      closed: true,
      timeout: true,
      rate_limited: true,
      unavailable: true,
      too_large: false,
      blocked: false,
      forbidden: false,
      not_found: false,
      bad_request: false,
    });
  });

  test('a send refused for a transient reason offers Retry, which then goes through', async () => {
    // The server's rate limit, reproduced at the page's WebSocket: the next `send` is answered
    // `rate_limited` instead of being forwarded; everything else passes through.
    const ivy = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(ivy);
    let refuseNext = false;
    await ivy.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((frame) => {
        const f = JSON.parse(frame);
        if (refuseNext && f.send) {
          refuseNext = false;
          ws.send(JSON.stringify({ id: f.id, error: { code: 'rate_limited', message: 'over the rate limit' } }));
        } else {
          server.send(frame);
        }
      });
      server.onMessage((frame) => ws.send(frame));
    });
    await logIn(ivy, 'ivy');
    await chatWith(ivy, 'ben');
    refuseNext = true;
    await send(ivy, 'retry me');
    const failed = ivy.locator('#msg-list li.msg.failed', { hasText: 'retry me' });
    await failed.getByText('too many messages at once').waitFor();
    await failed.getByRole('button', { name: 'Retry' }).click();
    await ivy.locator('#msg-list li.msg.mine:not(.sending):not(.failed)', { hasText: 'retry me' }).waitFor();
    // Stored once: ben has one unread message from ivy.
    await toList(ben);
    await ben.locator('.conv-item[data-conv="d:ben:ivy"] .badge', { hasText: '1' }).waitFor();
    await ivy.context().close();
  });

  test('"Message a user…" explains a bad name and an unknown user, and leaves no chat behind', async () => {
    await toList(amy);
    const box = amy.getByLabel('Username to message');
    await box.fill('bad name!');
    await box.press('Enter');
    await amy.locator('#start-error', { hasText: 'A username is 1 to 32 characters' }).waitFor();
    assert.equal(await amy.locator('.conv-item[data-conv*="bad"]').count(), 0);
    await box.fill('');

    // A hand-made link to such a chat opens nothing, and shows no raw error.
    await amy.evaluate(() => (location.hash = encodeURIComponent('d:amy:bad name!')));
    await noChatOpen(amy);

    // A valid name nobody has: `profiles` says so before any chat opens.
    await box.fill('nobody');
    await box.press('Enter');
    await amy.locator('#start-error', { hasText: 'No user named nobody.' }).waitFor();
    assert.equal(await amy.locator('.conv-item[data-conv="d:amy:nobody"]').count(), 0);
    await box.fill('');

    // A hand-made link to that chat: the first send finds out, explains, and removes the chat.
    await amy.evaluate(() => (location.hash = encodeURIComponent('d:amy:nobody')));
    await amy.locator('#chat-title', { hasText: 'nobody' }).waitFor();
    await send(amy, 'hello?');
    await amy.locator('#toast', { hasText: 'No user named nobody.' }).waitFor();
    await noChatOpen(amy);
    assert.equal(await amy.locator('.conv-item[data-conv="d:amy:nobody"]').count(), 0);
    assert.doesNotMatch(await amy.locator('body').innerText(), /invalid conversation|not_found/);
  });

  test('registration says the name rule in words and lowercases visibly', async () => {
    const page = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(page);
    await page.locator('#login-user').fill('bad name');
    await page.locator('#login-password').fill('password-123');
    await page.getByRole('button', { name: 'Register' }).click();
    const error = page.locator('#login-error');
    await error.getByText('A username is 1 to 32 characters').waitFor();
    assert.doesNotMatch(await error.innerText(), /\^|\[a-z/, 'no regex');

    await page.locator('#login-user').fill('Dora');
    assert.equal(await page.locator('#login-user').inputValue(), 'dora');
    await page.locator('#login-hint', { hasText: 'Usernames are lowercase' }).waitFor();
    await page.getByRole('button', { name: 'Register' }).click();
    await page.locator('#conn[data-state="online"]').waitFor();
    assert.equal(await page.locator('#me-name').innerText(), 'dora');
    await page.context().close();
  });

  test('Accept and Block leave a contact request once it is accepted', async () => {
    const dora = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(dora);
    await logIn(dora, 'dora', { register: false });
    await toList(amy);
    await amy.locator('#contacts-panel summary').click();
    await amy.getByLabel('Username to add').fill('dora');
    await amy.getByRole('button', { name: 'Add', exact: true }).click();
    await openConv(dora, 's:dora');
    const note = dora.locator('#msg-list li.note', { hasText: 'amy' });
    await note.getByRole('button', { name: 'Accept amy' }).click();
    await note.getByRole('button', { name: 'Accept amy' }).waitFor({ state: 'detached' });
    assert.equal(await note.getByRole('button', { name: 'Block amy' }).count(), 0);
    await amy.locator('#contact-list li', { hasText: 'dora' }).getByRole('button', { name: 'Chat' }).waitFor();
  });

  test('one’s own presence dot is green in the group members panel', async () => {
    await createGroup(amy, 'Pond', ['ben']);
    await amy.getByRole('button', { name: 'Group members' }).click();
    await amy.locator('#member-list li', { hasText: 'amy (you)' }).locator('.dot.on').waitFor();
    await amy.locator('#member-list li', { hasText: 'ben' }).locator('.dot.on').waitFor();
  });
});
