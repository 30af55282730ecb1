// The web chat: login, the conversation list, the chat view, contacts and groups.

import * as api from './api.js';
import * as files from './files.js';
import { Socket } from './socket.js';
import { Chat, directConv, metaOf } from './chat.js';
import { buildPicker, emojiOnly } from './emoji.js';
import { wireAccount } from './account.js';

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'koi.session';
const RECALL_WINDOW_MS = 120_000;
const TYPING_EVERY_MS = 3000;

let session = null; // {token, user, expires_at}
let socket = null;
let chat = null;
let current = null; // the open conversation
let dirty = { list: false, msgs: false, contacts: false, info: false, head: false };
let frame = 0;
let lastTypingSent = 0;
let ready = false;
let renewing = false; // a password change is revoking this page's token on purpose

// ---- small helpers ---------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

let toastTimer = 0;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 5000);
}

function fail(e) {
  toast(e?.message || String(e));
}

function clock(ts) {
  const d = new Date(ts);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function users(text) {
  return text
    .split(/[\s,]+/)
    .map((u) => u.trim().toLowerCase())
    .filter(Boolean);
}

function title(c) {
  if (c.kind === 'direct') return c.peer;
  if (c.kind === 'system') return 'Koi notices';
  return c.name || `Group ${c.group}`;
}

function preview(m, group = false) {
  if (!m) return '';
  const who = m.from === session.user ? 'You: ' : group && m.from ? `${m.from}: ` : '';
  switch (m.kind) {
    case 'image':
      return `${who}🖼 Image`;
    case 'gif':
      return `${who}GIF`;
    case 'file':
      return `${who}📄 ${m.file?.name || 'File'}`;
    case 'recalled':
      return 'Message recalled';
    case 'custom':
    case 'system':
      return `${m.from === 'system' ? '' : `${m.from} `}${m.text || ''}`;
    default:
      return who + (m.text || '');
  }
}

// ---- session -------------------------------------------------------------

function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY));
    if (s?.token && s.user && (!s.expires_at || s.expires_at > Date.now() + 60_000)) return s;
  } catch {
    /* none */
  }
  return null;
}

function showLogin(message = '') {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-user').focus();
}

async function onLogin(ev, registering) {
  ev?.preventDefault();
  const username = $('login-user').value.trim().toLowerCase();
  const password = $('login-password').value;
  $('login-error').textContent = '';
  if (!username || password.length < 8) {
    $('login-error').textContent = 'Enter a username and a password of at least 8 characters.';
    return;
  }
  for (const b of [$('login-btn'), $('register-btn')]) b.disabled = true;
  try {
    if (registering) await api.register(username, password);
    const s = await api.login(username, password);
    localStorage.setItem(SESSION_KEY, JSON.stringify(s));
    $('login-password').value = '';
    start(s);
  } catch (e) {
    const why = {
      409: 'That username is taken.',
      401: 'Wrong username or password.',
      429: 'Too many attempts: wait a moment.',
      400: e.message,
    }[e.status];
    $('login-error').textContent = why || e.message;
  } finally {
    for (const b of [$('login-btn'), $('register-btn')]) b.disabled = false;
  }
}

function logout(message = '') {
  socket?.stop();
  socket = null;
  chat = null;
  current = null;
  ready = false;
  localStorage.removeItem(SESSION_KEY);
  history.replaceState(null, '', location.pathname);
  document.title = 'Koi';
  showLogin(message);
}

function start(s) {
  session = s;
  $('login').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = s.user;
  updateNotifyButton();
  socket = new Socket({
    token: s.token,
    onState: showConnection,
    onReady,
    onPush,
    onAuthFailed: () => {
      if (!renewing) logout('Your session ended: log in again.');
    },
  });
  chat = new Chat(socket, s.user, changed);
  socket.start();
}

async function onReady(auth, reconnect) {
  chat.clockSkew = (auth.server_time || Date.now()) - Date.now();
  try {
    await chat.sync();
    await Promise.all([chat.refreshContacts(), chat.refreshPresence()]);
    if (!ready) {
      ready = true;
      route();
    } else if (current && !current.loaded) {
      await chat.open(current);
    }
    if (current?.kind === 'group' && !current.gone) chat.groupInfo(current).catch(() => {});
    markRead();
  } catch (e) {
    if (!reconnect) fail(e);
  }
}

function onPush(key, body) {
  const m = chat.push(key, body);
  if (m) notify(m);
}

function showConnection(state, detail) {
  const conn = $('conn');
  conn.dataset.state = state;
  conn.textContent = {
    online: 'Online',
    connecting: 'Connecting…',
    offline: `Offline · retrying in ${Math.ceil((detail.retryInMs || 0) / 1000)} s`,
    stopped: 'Offline',
  }[state];
  conn.title = detail.error || '';
}

// ---- notifications -------------------------------------------------------

function updateNotifyButton() {
  const b = $('notify-btn');
  b.hidden = !('Notification' in window) || Notification.permission !== 'default';
}

function notify(m) {
  document.title = `(${chat.totalUnread()}) Koi`;
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  const c = chat.conv(m.conv);
  const n = new Notification(c.kind === 'direct' ? m.from : `${m.from} in ${title(c)}`, {
    body: preview({ ...m, from: '' }).trim() || 'New message',
    tag: m.conv,
  });
  n.onclick = () => {
    window.focus();
    openConv(m.conv);
    n.close();
  };
}

// ---- rendering -----------------------------------------------------------

function changed(what, detail = {}) {
  if (what === 'msgs' || what === 'receipt' || what === 'typing') {
    dirty.list = true;
    if (detail.conv === current) dirty.msgs = dirty.head = true;
    if (what === 'msgs' && detail.conv === current) markRead();
  } else if (what === 'convs') {
    dirty.list = true;
    dirty.head = true;
  } else if (what === 'contacts' || what === 'presence') {
    dirty.contacts = true;
    dirty.list = true;
    dirty.head = true;
  } else if (what === 'info') {
    dirty.info = true;
    dirty.head = true;
  }
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  if (!chat) return;
  const d = dirty;
  dirty = { list: false, msgs: false, contacts: false, info: false, head: false };
  if (d.list) renderList();
  if (d.head) renderHead();
  if (d.msgs) renderMessages();
  if (d.msgs || d.list) renderTyping();
  if (d.contacts) renderContacts();
  if (d.info) renderInfo();
  const unread = chat.totalUnread();
  document.title = unread ? `(${unread}) Koi` : 'Koi';
}

function dot(user) {
  const on = chat.online.get(user);
  return el('span', {
    class: `dot${on ? ' on' : ''}`,
    title: on ? 'online' : 'offline',
    'aria-label': on ? 'online' : 'offline',
    role: 'img',
  });
}

function renderList() {
  const list = $('conv-list');
  const focused = document.activeElement?.dataset?.conv;
  const items = chat.list().map((c) => {
    const unread = chat.unread(c);
    const last = chat.last(c);
    const b = el(
      'button',
      {
        type: 'button',
        class: 'conv-item',
        'data-conv': c.id,
        'aria-current': c === current ? 'true' : null,
        onclick: () => openConv(c.id),
      },
      c.kind === 'direct' ? dot(c.peer) : el('span', { class: 'avatar', 'aria-hidden': 'true', text: c.kind === 'group' ? '#' : '★' }),
      el(
        'span',
        { class: 'conv-text' },
        el('span', { class: 'conv-title', text: title(c) }),
        el('span', { class: 'conv-preview', text: c.typing.size ? 'typing…' : preview(last, c.kind === 'group') }),
      ),
      el(
        'span',
        { class: 'conv-side' },
        c.last_ts ? el('time', { text: clock(c.last_ts) }) : null,
        unread ? el('span', { class: 'badge', text: String(unread), 'aria-label': `${unread} unread` }) : null,
      ),
    );
    return el('li', {}, b);
  });
  list.replaceChildren(...items);
  $('conv-empty').hidden = items.length > 0;
  if (focused) list.querySelector(`[data-conv="${CSS.escape(focused)}"]`)?.focus();
}

function renderHead() {
  const c = current;
  $('chat-placeholder').hidden = !!c;
  $('messages').hidden = !c;
  $('composer').hidden = !c || c.kind === 'system' || c.gone;
  $('info-btn').hidden = !c || c.kind !== 'group' || c.gone;
  $('block-btn').hidden = !c || c.kind !== 'direct';
  $('chat-dot').hidden = !c || c.kind !== 'direct';
  if (!c) {
    $('chat-title').textContent = 'Koi';
    $('chat-sub').textContent = '';
    return;
  }
  $('chat-title').textContent = title(c);
  let sub = '';
  if (c.kind === 'direct') {
    const on = chat.online.get(c.peer);
    $('chat-dot').className = `dot${on ? ' on' : ''}`;
    const state = chat.contacts.get(c.peer);
    sub = `${on ? 'online' : 'offline'}${state && state !== 'mutual' ? ` · contact ${state}` : ''}`;
    $('block-btn').textContent = state === 'blocked' ? 'Unblock' : 'Block';
  } else if (c.kind === 'group') {
    sub = c.gone
      ? 'You are not a member'
      : c.info
        ? `${c.info.group.size} members${c.info.group.public ? ' · public' : ''}`
        : 'Group';
  } else {
    sub = 'Notices from the server';
  }
  $('chat-sub').textContent = sub;
}

function renderTyping() {
  const who = current ? [...current.typing.keys()] : [];
  $('typing').textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
}

/** The key of a message element: own messages by client_msg_id, so that a pending
 * message and its acknowledged record are the same element. */
function keyOf(m) {
  return m.from === session.user && m.client_msg_id ? `c:${m.client_msg_id}` : `s:${m.seq}`;
}

function renderMessages() {
  const c = current;
  const box = $('messages');
  const list = $('msg-list');
  if (!c) return list.replaceChildren();
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const fromBottom = box.scrollHeight - box.scrollTop;
  const firstBefore = list.firstElementChild?.dataset.key;

  const msgs = chat.messages(c);
  let seen = 0;
  if (c.kind === 'direct') {
    for (const m of msgs) if (m.from === session.user && m.seq <= c.peerRead) seen = m.seq;
  }
  const now = chat.now();
  const wanted = [...msgs, ...c.pending];
  const existing = new Map([...list.children].map((li) => [li.dataset.key, li]));
  let prev = null;
  for (const m of wanted) {
    const key = keyOf(m);
    const recallable = m.seq && m.from === session.user && m.kind !== 'recalled' && now - m.ts < RECALL_WINDOW_MS;
    const sig = [m.seq, m.kind, m.text, m.status, m.seq === seen, recallable, chat.contacts.get(metaOf(m)?.from)].join('|');
    let li = existing.get(key);
    if (!li) {
      li = el('li', { 'data-key': key });
      li.dataset.sig = '';
    }
    existing.delete(key);
    if (li.dataset.sig !== sig) {
      fillMessage(li, c, m, { seen: m.seq === seen, recallable });
      li.dataset.sig = sig;
    }
    const want = prev ? prev.nextElementSibling : list.firstElementChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
  }
  for (const li of existing.values()) li.remove();

  $('older-btn').hidden = !c.loaded || c.complete;
  const prepended = firstBefore && list.firstElementChild?.dataset.key !== firstBefore;
  if (prepended && !atBottom) box.scrollTop = box.scrollHeight - fromBottom;
  else if (atBottom || box.dataset.conv !== c.id) box.scrollTop = box.scrollHeight;
  box.dataset.conv = c.id;
}

function fillMessage(li, c, m, { seen, recallable }) {
  const mine = m.from === session.user;
  const meta = metaOf(m);
  if (m.kind === 'system' || m.kind === 'custom') {
    li.className = 'msg note';
    const body = el('span', {}, m.from !== 'system' ? el('strong', { text: `${m.from} ` }) : null, m.text || '');
    const actions = [];
    if (meta?.type === 'contact_request' && chat.contacts.get(meta.from) === 'incoming') {
      actions.push(
        el('button', { type: 'button', class: 'small', text: `Accept ${meta.from}`, onclick: () => chat.contact('contact_add', meta.from).catch(fail) }),
        el('button', { type: 'button', class: 'small', text: 'Block', onclick: () => chat.contact('block', meta.from).catch(fail) }),
      );
    }
    li.replaceChildren(el('div', { class: 'note-body' }, body, el('time', { text: ` · ${clock(m.ts)}` }), ...actions));
    return;
  }
  li.className = `msg ${mine ? 'mine' : 'theirs'}${m.status ? ` ${m.status}` : ''}`;
  const from = el('span', { class: c.kind === 'group' && !mine ? 'from' : 'sr-only', text: mine ? 'You' : m.from });
  let body;
  const save = (e) => {
    e.preventDefault();
    files.download(session.token, m.file.file_id, m.file.name).catch(fail);
  };
  if (m.kind === 'recalled') {
    body = el('em', { class: 'muted', text: 'Message recalled' });
  } else if ((m.kind === 'image' || m.kind === 'gif') && m.file && files.isImage(m.file.mime)) {
    // The bytes come with the token in a header; the link saves them.
    const img = el('img', { alt: m.file.name || 'image' });
    img.addEventListener('load', () => {
      const box = $('messages');
      if (box.scrollHeight - box.scrollTop - box.clientHeight < img.height + 80) box.scrollTop = box.scrollHeight;
    });
    files
      .imageUrl(session.token, m.file.file_id)
      .then((url) => {
        img.src = url;
      })
      .catch(() => {
        img.alt = `${m.file.name || 'image'} (unavailable)`;
      });
    body = el('a', { href: '#', title: `Save ${m.file.name}`, class: 'image', onclick: save }, img);
  } else if (m.file) {
    body = el('a', { href: '#', class: 'file', onclick: save }, `📄 ${m.file.name} `, el('span', { class: 'muted', text: `(${size(m.file.size)})` }));
  } else {
    body = el('span', { class: emojiOnly(m.text) ? 'text big' : 'text', text: m.text ?? '' });
  }
  const status = [];
  if (m.status === 'sending') status.push(' · sending…');
  if (m.status === 'failed') {
    status.push(' · failed ');
    status.push(el('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => chat.retry(c, m).catch(fail) }));
  }
  if (seen) status.push(el('span', { class: 'seen', text: ' · Seen' }));
  const info = el('span', { class: 'meta' }, el('time', { datetime: new Date(m.ts).toISOString(), text: clock(m.ts) }), ...status);
  const recall = recallable
    ? el('button', {
        type: 'button',
        class: 'link recall',
        text: 'Recall',
        'aria-label': 'Recall this message',
        onclick: () => chat.recall(c, m.seq).catch(fail),
      })
    : null;
  const media = (m.kind === 'image' || m.kind === 'gif') && m.file;
  li.replaceChildren(el('div', { class: media ? 'bubble media' : 'bubble' }, from, body, el('div', { class: 'foot' }, info, recall)));
}

function renderContacts() {
  const rows = [...chat.contacts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const incoming = rows.filter(([, s]) => s === 'incoming').length;
  $('contacts-badge').hidden = !incoming;
  $('contacts-badge').textContent = incoming ? `${incoming} new` : '';
  const act = (text, op, user) =>
    el('button', { type: 'button', class: 'small', text, onclick: () => chat.contact(op, user).catch(fail) });
  $('contact-list').replaceChildren(
    ...rows.map(([user, state]) => {
      const actions = {
        mutual: [el('button', { type: 'button', class: 'small', text: 'Chat', onclick: () => openConv(directConv(session.user, user)) }), act('Remove', 'contact_remove', user), act('Block', 'block', user)],
        incoming: [act('Accept', 'contact_add', user), act('Block', 'block', user)],
        requested: [el('span', { class: 'muted', text: 'request sent' }), act('Cancel', 'contact_remove', user)],
        blocked: [el('span', { class: 'muted', text: 'blocked' }), act('Unblock', 'unblock', user)],
      }[state] || [];
      return el('li', { class: 'contact' }, dot(user), el('span', { class: 'name', text: user }), el('span', { class: 'actions' }, ...actions));
    }),
  );
  if (!rows.length) $('contact-list').replaceChildren(el('li', { class: 'muted', text: 'No contacts yet.' }));
}

function renderInfo() {
  const c = current;
  if (!c || c.kind !== 'group' || !c.info) return;
  const me = c.info.members.find((x) => x.user === session.user);
  const admin = me && (me.role === 'owner' || me.role === 'admin');
  $('info-title').textContent = title(c);
  $('info-id').textContent = c.group;
  $('add-form').hidden = !admin;
  $('member-list').replaceChildren(
    ...c.info.members.map((x) =>
      el(
        'li',
        { class: 'member' },
        dot(x.user),
        el('span', { class: 'name', text: x.user === session.user ? `${x.user} (you)` : x.user }),
        el('span', { class: 'muted', text: x.role }),
        admin && x.user !== session.user && x.role !== 'owner'
          ? el('button', { type: 'button', class: 'small danger', text: 'Remove', 'aria-label': `Remove ${x.user}`, onclick: () => chat.groupKick(c, x.user).catch(fail) })
          : null,
      ),
    ),
  );
}

// ---- navigation ----------------------------------------------------------

function openConv(id) {
  const hash = `#${encodeURIComponent(id)}`;
  if (location.hash !== hash) location.hash = hash;
  else route();
}

/** Shows the conversation named by the URL fragment (or none). */
function route() {
  if (!chat) return;
  let id = '';
  try {
    id = decodeURIComponent(location.hash.slice(1));
  } catch {
    /* not ours */
  }
  const [kind, a, b] = id.split(':');
  const me = session.user;
  const valid =
    (kind === 'd' && a !== b && (a === me || b === me) && directConv(a, b) === id) ||
    (kind === 'g' && !!a) ||
    id === `s:${me}`;
  const c = valid ? chat.conv(id) : null;
  const changedConv = c !== current;
  current = c;
  document.body.classList.toggle('in-chat', !!c);
  if (changedConv) {
    $('msg-list').replaceChildren();
    $('info').hidden = true;
    $('info-btn').setAttribute('aria-expanded', 'false');
    $('emoji-panel').hidden = true;
  }
  dirty = { list: true, msgs: true, contacts: true, info: true, head: true };
  render();
  if (!c) return;
  if (!c.loaded) {
    chat.open(c).then(markRead, fail);
  } else {
    markRead();
  }
  if (c.kind === 'group' && !c.gone) chat.groupInfo(c).catch(() => {});
  if (changedConv && matchMedia('(min-width: 701px)').matches && !$('composer').hidden) $('composer-text').focus();
}

function markRead() {
  if (current && document.visibilityState === 'visible' && socket?.state === 'online' && current.loaded) {
    chat.markRead(current).catch(() => {});
  }
}

// ---- composer ------------------------------------------------------------

async function sendText(ev) {
  ev.preventDefault();
  const box = $('composer-text');
  const text = box.value.trim();
  if (!text || !current) return;
  box.value = '';
  autosize();
  $('emoji-panel').hidden = true;
  chat.send(current, { kind: emojiOnly(text) ? 'emoji' : 'text', text }).catch(fail);
}

function autosize() {
  const box = $('composer-text');
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
}

async function sendFiles(picked) {
  const c = current;
  for (const file of picked) {
    try {
      toast(`Uploading ${file.name}…`);
      const info = await api.upload(session.token, file);
      // Only raster images are shown as images (an SVG is a file).
      const kind = info.mime === 'image/gif' ? 'gif' : files.isImage(info.mime) ? 'image' : 'file';
      const ref = { file_id: info.file_id, name: info.name, size: info.size, mime: info.mime };
      $('toast').hidden = true;
      await chat.send(c, { kind, file: ref });
    } catch (e) {
      fail(e);
    }
  }
}

function toggleEmoji(show = $('emoji-panel').hidden) {
  $('emoji-panel').hidden = !show;
  $('emoji-btn').setAttribute('aria-expanded', String(show));
  if (show) $('emoji-panel').querySelector('button')?.focus();
}

function insertEmoji(e) {
  const box = $('composer-text');
  const at = box.selectionStart ?? box.value.length;
  box.value = box.value.slice(0, at) + e + box.value.slice(box.selectionEnd ?? at);
  box.focus();
  box.selectionStart = box.selectionEnd = at + e.length;
  toggleEmoji(false);
}

// ---- wiring --------------------------------------------------------------

function wire() {
  $('login-form').addEventListener('submit', (ev) => onLogin(ev, false));
  $('register-btn').addEventListener('click', (ev) => onLogin(ev, true));
  wireAccount({
    session: () => session,
    renewing: (on) => {
      renewing = on;
    },
    renewed: (s) => {
      // The old token is revoked: continue on the new one.
      localStorage.setItem(SESSION_KEY, JSON.stringify(s));
      socket?.stop();
      start(s);
    },
    ended: (message) => logout(message),
    fail,
    toast,
  });
  $('notify-btn').addEventListener('click', async () => {
    await Notification.requestPermission();
    updateNotifyButton();
  });
  $('back-btn').addEventListener('click', () => openConv(''));
  $('start-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const user = $('start-user').value.trim().toLowerCase();
    if (!user) return;
    if (user === session.user) return toast('That is you.');
    $('start-user').value = '';
    openConv(directConv(session.user, user));
  });
  $('contact-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const user = $('contact-user').value.trim().toLowerCase();
    if (!user) return;
    chat.contact('contact_add', user).then(() => {
      $('contact-user').value = '';
      toast(`Contact request sent to ${user}.`);
    }, fail);
  });
  $('group-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('group-name').value.trim();
    if (!name) return;
    chat.groupCreate(name, users($('group-members').value), $('group-public').checked).then((c) => {
      $('group-form').reset();
      openConv(c.id);
    }, fail);
  });
  $('join-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('join-id').value.trim().replace(/^g:/, '');
    if (!id) return;
    chat.groupJoin(id).then((c) => {
      $('join-id').value = '';
      openConv(c.id);
    }, fail);
  });
  $('composer').addEventListener('submit', sendText);
  const box = $('composer-text');
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) sendText(ev);
  });
  box.addEventListener('input', () => {
    autosize();
    if (current && box.value && Date.now() - lastTypingSent > TYPING_EVERY_MS) {
      lastTypingSent = Date.now();
      chat.typing(current).catch(() => {});
    }
  });
  buildPicker($('emoji-panel'), insertEmoji, () => {
    toggleEmoji(false);
    $('emoji-btn').focus();
  });
  $('emoji-btn').addEventListener('click', () => toggleEmoji());
  $('file-input').addEventListener('change', (ev) => {
    const picked = [...ev.target.files];
    ev.target.value = '';
    sendFiles(picked);
  });
  $('older-btn').addEventListener('click', () => current && chat.older(current).catch(fail));
  $('messages').addEventListener('scroll', () => {
    const c = current;
    if (c?.loaded && !c.complete && !c.loadingOlder && $('messages').scrollTop < 40) {
      c.loadingOlder = true;
      chat
        .older(c)
        .catch(fail)
        .finally(() => (c.loadingOlder = false));
    }
  });
  $('info-btn').addEventListener('click', () => {
    const open = $('info').hidden;
    $('info').hidden = !open;
    $('info-btn').setAttribute('aria-expanded', String(open));
    if (open) {
      chat.groupInfo(current).catch(fail);
      $('info-close').focus();
    }
  });
  $('info-close').addEventListener('click', () => {
    $('info').hidden = true;
    $('info-btn').setAttribute('aria-expanded', 'false');
    $('info-btn').focus();
  });
  $('add-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const list = users($('add-users').value);
    if (!list.length || !current) return;
    chat.groupAdd(current, list).then(() => ($('add-users').value = ''), fail);
  });
  $('leave-btn').addEventListener('click', () => {
    if (!current || !confirm(`Leave ${title(current)}?`)) return;
    chat.groupLeave(current).then(() => openConv(''), fail);
  });
  $('block-btn').addEventListener('click', () => {
    const c = current;
    if (!c?.peer) return;
    const op = chat.contacts.get(c.peer) === 'blocked' ? 'unblock' : 'block';
    chat.contact(op, c.peer).catch(fail);
  });
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', markRead);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !$('emoji-panel').hidden) toggleEmoji(false);
  });
  // Typing marks expire; recall buttons disappear when the window has passed.
  setInterval(() => {
    if (!chat) return;
    if (chat.expireTyping()) changed('typing', { conv: current });
  }, 1000);
  setInterval(() => chat && current && changed('msgs', { conv: current }), 15_000);
}

wire();
const saved = loadSession();
if (saved) start(saved);
else showLogin();
