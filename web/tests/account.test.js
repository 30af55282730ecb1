// The account menu: active sessions with "log out this device", password change (the old token
// is refused afterwards), log out — each against the real server, in two browser contexts
// standing for two devices of one user.
// Each test runs at desktop and at phone width, on one node per width (issue #23).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, PASSWORD, openPage, logIn, VIEWPORTS } from './helpers.js';

const NEW_PASSWORD = 'another-password-456';


for (const { name, view } of VIEWPORTS) describe(name, () => {
  const env = fixture();
  async function device() {
    const page = await openPage(env.browser, `${env.koi.base}/`, view);
    env.pages.push(page);
    return page;
  }

  /** The token the page keeps for its session. */
  const tokenOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('koi.session')).token);

  /** The status `GET /v1/sessions` answers for `token`. */
  async function statusWith(token) {
    const res = await fetch(`${env.koi.base}/v1/sessions`, { headers: { Authorization: `Bearer ${token}` } });
    return res.status;
  }

  async function openAccount(page) {
    await page.locator('#account-panel summary').click();
    await page.locator('#session-list li').first().waitFor();
  }

  async function loginWith(page, password) {
    await page.locator('#login-user').fill('ann');
    await page.locator('#login-password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#conn[data-state="online"]').waitFor();
  }

  let laptop;
  let phone;

  test('the session list shows both devices, and one logs the other out', async () => {
    laptop = await device();
    await logIn(laptop, 'ann');
    phone = await device();
    await logIn(phone, 'ann', { register: false });
    const phoneToken = await tokenOf(phone);

    await openAccount(laptop);
    // The registration's own login, and the phone's.
    await laptop.locator('#session-list li').nth(1).waitFor();
    assert.equal(await laptop.locator('#session-list li').count(), 2);
    await laptop.locator('#session-list li strong', { hasText: 'this device' }).waitFor();

    await laptop.getByRole('button', { name: 'Log out this device' }).click();
    // The phone is kicked `token_revoked` and goes back to the login view, saying why.
    await phone.locator('#login').waitFor({ state: 'visible' });
    await phone.locator('#login-error', { hasText: 'session ended' }).waitFor();
    assert.equal(await statusWith(phoneToken), 401);
    await laptop.locator('#session-list li').nth(1).waitFor({ state: 'detached' });
    assert.equal(await laptop.locator('#conn').getAttribute('data-state'), 'online');
  });

  test('changing the password logs the other devices out and refuses the old token', async () => {
    await loginWith(phone, PASSWORD);
    const phoneToken = await tokenOf(phone);
    const oldLaptopToken = await tokenOf(laptop);

    await laptop.getByLabel('Current password').fill('not the password');
    await laptop.getByLabel('New password').fill(NEW_PASSWORD);
    await laptop.getByRole('button', { name: 'Change password' }).click();
    await laptop.locator('#password-error', { hasText: 'wrong' }).waitFor();

    await laptop.getByLabel('Current password').fill(PASSWORD);
    await laptop.getByLabel('New password').fill(NEW_PASSWORD);
    await laptop.getByRole('button', { name: 'Change password' }).click();
    await phone.locator('#login').waitFor({ state: 'visible' });
    // The laptop goes on with its new token; both old ones are refused.
    await laptop.locator('#conn[data-state="online"]').waitFor();
    await laptop.waitForFunction((old) => JSON.parse(localStorage.getItem('koi.session')).token !== old, oldLaptopToken);
    assert.equal(await statusWith(oldLaptopToken), 401);
    assert.equal(await statusWith(phoneToken), 401);
    assert.equal(await statusWith(await tokenOf(laptop)), 200);
    assert.equal(await laptop.locator('#app').isVisible(), true);

    // The old password no longer logs in; the new one does.
    await phone.locator('#login-user').fill('ann');
    await phone.locator('#login-password').fill(PASSWORD);
    await phone.getByRole('button', { name: 'Log in' }).click();
    await phone.locator('#login-error', { hasText: 'Wrong' }).waitFor();
    await loginWith(phone, NEW_PASSWORD);
  });

  test('log out revokes the token and returns to the login view', async () => {
    const token = await tokenOf(phone);
    await phone.getByRole('button', { name: 'Log out', exact: true }).first().click();
    await phone.locator('#login').waitFor({ state: 'visible' });
    assert.equal(await statusWith(token), 401);
    // The laptop's session is another one: it stays.
    assert.equal(await statusWith(await tokenOf(laptop)), 200);
  });
});
