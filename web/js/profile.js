// The profile panel (§13), a modal dialog: someone else's profile (picture, name, status,
// online or last seen), or your own with forms for name, status and picture (cut to a
// square on a canvas, then uploaded) and your privacy settings.

import { el } from './dom.js';
import { avatar, squareCrop } from './avatar.js';
import { upload } from './upload.js';

const $ = (id) => document.getElementById(id);

/** "5 minutes ago", "yesterday 18:02", … for a `last_seen` in ms. */
function ago(ts, now) {
  const min = Math.round((now - ts) / 60_000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} minute${min === 1 ? '' : 's'} ago`;
  const h = Math.round(min / 60);
  if (h < 24) return `${h} hour${h === 1 ? '' : 's'} ago`;
  return new Date(ts).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/**
 * Wires the dialog; `chat()` and `session()` give the current ones. Returns
 * `{show(user), refresh()}`.
 */
export function profilePanel({ chat, session, fail, toast, openChat }) {
  const dialog = $('profile');
  let user = null;
  let opener = null;

  function renderView() {
    const c = chat();
    const me = session().user;
    const p = c.profile(user) || { user };
    const mine = user === me;
    const online = mine || c.online.get(user);
    const seen = online ? 'online' : p.last_seen ? `last seen ${ago(p.last_seen, c.now())}` : 'offline';
    $('profile-title').textContent = mine ? 'Your profile' : 'Profile';
    $('profile-view').replaceChildren(
      avatar(session().token, p.avatar, p.display_name || user, 'large'),
      el('p', { class: 'profile-name', text: p.deleted_user ? `${user} (deleted account)` : p.display_name || user }),
      el('p', { class: 'muted', text: `@${user} · ${seen}` }),
      p.status ? el('p', { class: 'profile-status', text: p.status }) : null,
      !mine && !p.deleted_user ? el('button', { type: 'button', class: 'primary', text: `Message ${p.display_name || user}`, onclick: () => (close(), openChat(user)) }) : null,
    );
    $('profile-form').hidden = !mine;
    $('privacy-form').hidden = !mine;
  }

  async function show(who, from = document.activeElement) {
    user = who;
    opener = from;
    const c = chat();
    if (user === session().user) {
      const p = c.profile(user) || {};
      $('profile-display').value = p.display_name || '';
      $('profile-status-in').value = p.status || '';
      $('profile-error').textContent = '';
      c.settings().then((s) => {
        for (const k of ['dm', 'presence', 'group_add']) $(`privacy-${k}`).value = s[k];
      }, fail);
    }
    // Fresh: the last seen time moves.
    c.profiles.delete(user);
    c.profile(user);
    renderView();
    if (!dialog.open) dialog.showModal();
    $('profile-close').focus();
  }

  function close() {
    dialog.close();
  }

  dialog.addEventListener('close', () => opener?.focus?.());
  $('profile-close').addEventListener('click', close);
  $('profile-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('profile-error').textContent = '';
    try {
      await chat().profileSet({ display_name: $('profile-display').value.trim(), status: $('profile-status-in').value.trim() });
      toast('Profile saved.');
    } catch (e) {
      $('profile-error').textContent = e.code === 'too_large' ? 'Too long: a name takes up to 64 characters, a status 140.' : e.message;
    }
  });
  $('profile-avatar').addEventListener('change', async (ev) => {
    const [file] = ev.target.files;
    ev.target.value = '';
    if (!file) return;
    $('profile-error').textContent = '';
    try {
      const square = await squareCrop(file);
      const info = await upload(session().token, square, () => {}).done;
      await chat().profileSet({ avatar: info.file_id });
      toast('Picture saved.');
    } catch (e) {
      $('profile-error').textContent = `The picture was not saved: ${e.message}`;
    }
  });
  $('privacy-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const s = await chat().settingsSet({ dm: $('privacy-dm').value, presence: $('privacy-presence').value, group_add: $('privacy-group_add').value });
      for (const k of ['dm', 'presence', 'group_add']) $(`privacy-${k}`).value = s[k];
      toast('Privacy settings saved.');
    } catch (e) {
      fail(e);
    }
  });

  return {
    show,
    /** Draws the open panel again (a profile arrived). */
    refresh() {
      if (dialog.open && user) renderView();
    },
  };
}
