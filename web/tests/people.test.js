// Profiles, privacy, conversation settings and group settings (§13) in the page:
// display names and avatars where users appear, the profile panel, the privacy settings,
// pin/mute/archive in the list, group settings for the owner and admins, and checkUser()
// asking `profiles` before a chat opens.
// Each test runs at desktop and at phone width, on one node per width (issue #23).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, userPage, chatWith, send, message, png, createGroup , toList, VIEWPORTS } from './helpers.js';


for (const { name, view } of VIEWPORTS) describe(name, () => {
  const env = fixture();
  let ann;
  let ben;

  test('your profile: a name, a status and a picture cut to a square; others see them', async () => {
    ann = await userPage(env, 'ann', view);
    ben = await userPage(env, 'ben', view);
    await chatWith(ann, 'ben');
    await send(ann, 'hi ben');
    await toList(ben);
    await ben.locator('.conv-item[data-conv="d:ann:ben"]').click();
    await message(ben, 'hi ben').waitFor();

    await toList(ann);
    await ann.getByRole('button', { name: 'Your profile' }).click();
    await ann.locator('#profile[open]').waitFor();
    await ann.getByLabel('Display name').fill('Ann Lee');
    await ann.getByLabel('Status').fill('gone fishing');
    await ann.getByRole('button', { name: 'Save profile' }).click();
    await ann.locator('#profile-view .profile-name', { hasText: 'Ann Lee' }).waitFor();
    // A wide picture becomes a 256 × 256 square.
    await ann.locator('#profile-avatar').setInputFiles({ name: 'wide.png', mimeType: 'image/png', buffer: await png(ann, { width: 300, height: 120 }) });
    const img = ann.locator('#profile-view .avatar-pic img');
    await img.waitFor();
    await ann.waitForFunction(() => document.querySelector('#profile-view .avatar-pic img')?.naturalWidth > 0);
    assert.deepEqual(await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]), [256, 256]);
    await ann.getByRole('button', { name: 'Close profile' }).click();

    // ben is no contact of ann's: no `profile` push; his page asks again when it shows her.
    await ben.evaluate(() => (location.hash = ''));
    await toList(ben);
    await ben.locator('.conv-item[data-conv="d:ann:ben"]').click();
    await ben.locator('#chat-title', { hasText: 'Ann Lee' }).waitFor();
    await ben.getByRole('button', { name: 'Profile', exact: true }).click();
    await ben.locator('#profile-view', { hasText: 'gone fishing' }).waitFor();
    assert.match(await ben.locator('#profile-view').textContent(), /@ann/);
    assert.ok(await ben.locator('#profile-form').isHidden(), 'no edit form for someone else');
    await ben.keyboard.press('Escape');
    await ben.locator('#profile[open]').waitFor({ state: 'detached' });
    await toList(ben);
    await ben.locator('.conv-item[data-conv="d:ann:ben"] .conv-title', { hasText: 'Ann Lee' }).waitFor();
    await ben.locator('.conv-item[data-conv="d:ann:ben"] .avatar-pic img').waitFor();
  });

  test('privacy settings are kept', async () => {
    await toList(ann);
    await ann.getByRole('button', { name: 'Your profile' }).click();
    await ann.getByLabel('Who sees you online and your last seen time').selectOption('nobody');
    await ann.getByRole('button', { name: 'Save privacy settings' }).click();
    await ann.locator('#toast', { hasText: 'Privacy settings saved.' }).waitFor();
    await ann.getByRole('button', { name: 'Close profile' }).click();
    await ann.reload();
    await toList(ann);
    await ann.getByRole('button', { name: 'Your profile' }).click();
    await ann.waitForFunction(() => document.getElementById('privacy-presence').value === 'nobody');
    await ann.getByRole('button', { name: 'Close profile' }).click();
  });

  test('a name nobody has is refused before any chat opens', async () => {
    await toList(ann);
    await ann.getByLabel('Username to message').fill('nobody-here');
    await ann.getByLabel('Username to message').press('Enter');
    await ann.locator('#start-error', { hasText: 'No user named nobody-here.' }).waitFor();
    assert.equal(await ann.locator('.conv-item[data-conv="d:ann:nobody-here"]').count(), 0);
  });

  test('pinned chats first, archived ones behind a toggle, mute marked; on every device', async () => {
    await userPage(env, 'cat', view);
    await chatWith(ann, 'cat');
    await send(ann, 'hi cat');
    await message(ann, 'hi cat').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
    const order = () => ann.locator('#conv-list .conv-item').evaluateAll((b) => b.map((x) => x.dataset.conv));
    assert.deepEqual(await order(), ['d:ann:cat', 'd:ann:ben']);
    const other = await userPage(env, 'ann', { register: false, ...view });
    await chatWith(ann, 'ben');
    await ann.locator('#conv-menu summary').click();
    await ann.getByRole('button', { name: 'Pin' }).click();
    await ann.locator('.conv-item[data-conv="d:ann:ben"] [aria-label="pinned"]').waitFor({ state: 'attached' });
    assert.deepEqual(await order(), ['d:ann:ben', 'd:ann:cat']);
    await ann.locator('#conv-menu summary').click();
    await ann.getByRole('button', { name: 'Mute' }).click();
    await ann.locator('.conv-item[data-conv="d:ann:ben"] [aria-label="muted"]').waitFor({ state: 'attached' });
    // The other device follows (conv_settings push).
    await other.locator('.conv-item[data-conv="d:ann:ben"] [aria-label="pinned"]').waitFor();
    await other.locator('.conv-item[data-conv="d:ann:ben"] [aria-label="muted"]').waitFor();

    await chatWith(ann, 'cat');
    await ann.locator('#conv-menu summary').click();
    await ann.getByRole('button', { name: 'Archive' }).click();
    await ann.evaluate(() => (location.hash = ''));
    await ann.locator('.conv-item[data-conv="d:ann:cat"]').waitFor({ state: 'detached' });
    await ann.getByRole('button', { name: 'Archived chats (1)' }).click();
    await ann.locator('.conv-item[data-conv="d:ann:cat"]').waitFor();
    await ann.getByRole('button', { name: 'Back to chats' }).click();
    await ann.locator('.conv-item[data-conv="d:ann:ben"]').waitFor();
    await other.locator('.conv-item[data-conv="d:ann:cat"]').waitFor({ state: 'detached' });
  });

  test('group settings for the owner; an admin made by the owner gets them too', async () => {
    await createGroup(ann, 'Pond', ['ben']);
    await ann.getByRole('button', { name: 'Group members' }).click();
    await ann.getByLabel('Name', { exact: true }).fill('Koi Pond');
    await ann.getByLabel('Description').fill('For koi keepers');
    await ann.getByRole('button', { name: 'Save group settings' }).click();
    await ann.locator('#chat-title', { hasText: 'Koi Pond' }).waitFor();
    await ann.locator('#info-desc', { hasText: 'For koi keepers' }).waitFor();
    await ann.getByRole('button', { name: 'Make admin ben' }).click();
    await ann.locator('#member-list li', { hasText: 'ben' }).getByText('admin', { exact: true }).waitFor();

    await toList(ben);

    await ben.locator('.conv-item', { hasText: 'Pond' }).click();
    await ben.getByRole('button', { name: 'Group members' }).click();
    await ben.locator('#chat-title', { hasText: 'Koi Pond' }).waitFor();
    await ben.locator('#info-desc', { hasText: 'For koi keepers' }).waitFor();
    await ben.locator('#group-settings').waitFor();
    // The owner's display name in the member list, with the username.
    await ben.locator('#member-list li', { hasText: 'Ann Lee (@ann)' }).waitFor();
    // The changes are §11 events, notice lines for every member.
    await ben.locator('#msg-list li.event', { hasText: 'Ann Lee renamed the group “Koi Pond”, changed the description' }).waitFor();
    await ben.locator('#msg-list li.event', { hasText: 'Ann Lee made ben an admin' }).waitFor();
    await ann.locator('#msg-list li.event', { hasText: 'Ann Lee made ben an admin' }).waitFor();
  });

  test("a group shows another member's avatar beside the last of their consecutive messages", async () => {
    // ben sets a picture; ann sees it in the group, once for his two messages in a row.
    await ben.getByRole('button', { name: 'Close group panel' }).click();
    await toList(ben);
    await ben.getByRole('button', { name: 'Your profile' }).click();
    await ben.locator('#profile[open]').waitFor();
    await ben.locator('#profile-avatar').setInputFiles({ name: 'ben.png', mimeType: 'image/png', buffer: await png(ben, { color: '#1e9e5a' }) });
    await ben.locator('#profile-view .avatar-pic img').waitFor();
    await ben.getByRole('button', { name: 'Close profile' }).click();
    // Back to the group (on a phone the list took the screen).
    await ben.locator('.conv-item', { hasText: 'Koi Pond' }).click();
    await ben.locator('#chat-title', { hasText: 'Koi Pond' }).waitFor();
    await send(ben, 'first from ben');
    await send(ben, 'second from ben');
    await message(ben, 'second from ben').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });

    await ann.getByRole('button', { name: 'Close group panel' }).click();
    await toList(ann);
    await ann.locator('.conv-item', { hasText: 'Koi Pond' }).click();
    const first = message(ann, 'first from ben');
    const second = message(ann, 'second from ben');
    await second.locator('.face .avatar-pic img').waitFor();
    await ann.waitForFunction(() => [...document.querySelectorAll('#msg-list .face img')].some((i) => i.naturalWidth === 256));
    // Once per run: the first bubble has the gap, not a second avatar.
    assert.equal(await first.locator('.face').count(), 1);
    assert.equal(await first.locator('.face .avatar-pic').count(), 0);
    // Decorative: hidden from screen readers, the name is said in the bubble.
    assert.equal(await second.locator('.face .avatar-pic').getAttribute('aria-hidden'), 'true');
    assert.equal(await second.locator('.face img').getAttribute('alt'), '');
    await second.locator('.bubble .from', { hasText: 'ben' }).waitFor();
    // The bubble sits to the right of the avatar, its foot aligned with it.
    const [pic, bubble] = await Promise.all([second.locator('.face .avatar-pic').boundingBox(), second.locator('.bubble').boundingBox()]);
    assert.ok(pic.x + pic.width <= bubble.x, 'the avatar is left of the bubble');
    assert.ok(Math.abs(pic.y + pic.height - (bubble.y + bubble.height)) < 2, 'at the foot of the bubble');
    // Own messages have none; a reply from ann ends ben's run, so his next one gets its own.
    await send(ann, 'hello ben');
    await message(ann, 'hello ben').locator('.act', { hasText: 'Edit' }).waitFor({ state: 'attached' });
    assert.equal(await message(ann, 'hello ben').locator('.face').count(), 0);
    await send(ben, 'third from ben');
    await message(ann, 'third from ben').locator('.face .avatar-pic').waitFor();
    assert.equal(await ann.locator('#msg-list .face .avatar-pic').count(), 2);
    // In ben's own page his bubbles have no avatar; ann's has hers.
    await message(ben, 'hello ben').locator('.face .avatar-pic').waitFor();
    assert.equal(await ben.locator('#msg-list li.mine .face').count(), 0);
    // Only the bubble is in an own message's row (no stray text beside it).
    assert.equal(await message(ben, 'third from ben').evaluate((li) => li.childNodes.length), 1);
  });
});
