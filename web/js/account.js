// The account menu: log out, change password, active sessions (each can be logged out), delete
// the account. Talks to the HTTP API (§12); the page's session lives in app.js, reached through
// the callbacks given to `wireAccount`.

import * as api from './api.js';

const $ = (id) => document.getElementById(id);

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : '—';
}

/**
 * Wires the account panel. `session()` is the current `{token, user}`; `renewing(true)` comes
 * before a password change (which revokes the page's own token too) and `renewing(false)` after
 * it; `renewed(s)` takes the new session; `ended(message)` goes back to the login view.
 */
export function wireAccount({ session, renewing, renewed, ended, fail, toast }) {
  async function logOut() {
    try {
      await api.logout(session().token);
    } catch (e) {
      // An already revoked or expired token is logged out anyway.
      if (e.status !== 401) return fail(e);
    }
    ended('');
  }

  async function showSessions() {
    const list = $('session-list');
    let reply;
    try {
      reply = await api.sessions(session().token);
    } catch (e) {
      return fail(e);
    }
    list.replaceChildren(
      ...reply.sessions.map((s) => {
        const li = document.createElement('li');
        li.dataset.session = s.id;
        const what = document.createElement('span');
        what.className = 'session-what';
        what.textContent = s.user_agent || 'unknown device';
        const dates = document.createElement('span');
        dates.className = 'muted';
        dates.textContent = `since ${when(s.created_at)}, last used ${when(s.last_used_at)}`;
        li.append(what, dates);
        if (s.current) {
          const tag = document.createElement('strong');
          tag.textContent = 'this device';
          li.append(tag);
        } else {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'small';
          b.textContent = 'Log out this device';
          b.addEventListener('click', async () => {
            try {
              await api.endSession(session().token, s.id);
              toast('That device is logged out.');
              await showSessions();
            } catch (e) {
              fail(e);
            }
          });
          li.append(b);
        }
        return li;
      }),
    );
  }

  $('logout-btn').addEventListener('click', logOut);
  $('account-logout').addEventListener('click', logOut);
  $('account-panel').addEventListener('toggle', () => {
    if ($('account-panel').open) showSessions();
  });
  $('sessions-refresh').addEventListener('click', showSessions);

  $('password-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const old = $('password-old').value;
    const fresh = $('password-new').value;
    const error = $('password-error');
    error.textContent = '';
    if (fresh.length < 8) {
      error.textContent = 'The new password needs at least 8 characters.';
      return;
    }
    renewing(true);
    try {
      const reply = await api.changePassword(session().token, old, fresh);
      $('password-form').reset();
      renewed({ ...session(), token: reply.token, expires_at: reply.expires_at });
      toast('Password changed: your other devices are logged out.');
      await showSessions();
    } catch (e) {
      error.textContent = e.status === 401 ? 'The current password is wrong.' : e.message;
    } finally {
      renewing(false);
    }
  });

  $('delete-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const error = $('delete-error');
    error.textContent = '';
    try {
      await api.deleteAccount(session().token, $('delete-password').value);
      $('delete-form').reset();
      ended('Your account is deleted.');
    } catch (e) {
      error.textContent = e.status === 401 ? 'The password is wrong.' : e.message;
    }
  });
}
