// The web chat: login, the conversation list, the chat view, contacts and groups.

import * as api from './api.js';
import * as files from './files.js';
import { Socket } from './socket.js';
import { Chat, directConv, metaOf, transient } from './chat.js';
import { emojiPicker, emojiOnly } from './emoji.js';
import { wireAccount } from './account.js';
import { USERNAME_RULE, checkUser, noSuchUser, usernameProblem } from './names.js';
import { linkify } from './links.js';
import { showImage, wireViewer } from './viewer.js';
import { upload } from './upload.js';
import { rows as timeline } from './timeline.js';
import { el } from './dom.js';
import { mentionsMe, noticeText } from './events.js';
import { mentionBox, mentionsIn } from './mentions.js';
import { searchBox } from './search.js';
import { messageActions, placeActions, quote, reactionsRow } from './bubble.js';
import { avatar, squareCrop } from './avatar.js';
import { profilePanel } from './profile.js';

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'koi.session';
const RECALL_WINDOW_MS = 120_000;
/** The server's default `edit_window_s` (172800 s). */
const EDIT_WINDOW_MS = 172_800_000;
/** How often the latest own message's `read_by` is asked again in a group. */
const READ_BY_EVERY_MS = 10_000;
const TYPING_EVERY_MS = 3000;
/** The server's bound on `send.text` (UTF-8 bytes). */
const MAX_TEXT_BYTES = 16_384;
/** The composer shows its byte count from here on. */
const COUNT_FROM_BYTES = 12_288;

let session = null; // {token, user, expires_at}
let socket = null;
let chat = null;
let current = null; // the open conversation
let dirty = { list: false, msgs: false, contacts: false, info: false, head: false };
let frame = 0;
let lastTypingSent = 0;
let ready = false;
let renewing = false; // a password change is revoking this page's token on purpose
let unreadAfter = null; // the open conversation's read cursor when it was opened ("new messages")
let picker = null;
let uploading = null; // the upload in progress: {cancel}
let toComposer = false; // the next route() puts the focus in the message box (a chat was asked for)
// §11: the composer edits a message, or replies to one; the emoji picker reacts to one.
let editing = null; // {conv, seq}
let replying = null; // {conv, seq}
let reactFor = null; // {conv, seq}
let mentioner = null;
let jumpAfterOpen = null; // {conv, seq}: a search result to show once its conversation is open
const readBy = new Map(); // `${conv}#${seq}` -> {count, users, at}
let readByOpen = null; // the key whose reader list is shown
// §13
let profile = null; // the profile panel
let showArchived = false; // the list shows the archived conversations instead

// ---- small helpers ---------------------------------------------------------

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

function timeOf(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
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
  if (c.kind === 'direct') return chat.name(c.peer);
  if (c.kind === 'system') return 'Koi notices';
  return c.name || `Group ${c.group}`;
}

function preview(m, group = false) {
  if (!m) return '';
  const who = m.from === session.user ? 'You: ' : group && m.from ? `${chat.name(m.from)}: ` : '';
  switch (m.kind) {
    case 'image':
      return `${who}🖼 Image`;
    case 'gif':
      return `${who}GIF`;
    case 'file':
      return `${who}📄 ${m.file?.name || 'File'}`;
    case 'recalled':
      return 'Message recalled';
    case 'event':
      return noticeText(m, (u) => chat.name(u)) || '';
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

/** Usernames are lowercase: capitals typed are lowered in the field, and the hint says so. */
function lowercaseLogin() {
  const input = $('login-user');
  const typed = input.value;
  const lower = typed.toLowerCase();
  if (typed === lower) return;
  const at = input.selectionStart;
  input.value = lower;
  input.setSelectionRange(at, at);
  $('login-hint').textContent = `Usernames are lowercase: “${typed.trim()}” is “${lower.trim()}”.`;
}

async function onLogin(ev, registering) {
  ev?.preventDefault();
  lowercaseLogin();
  const username = $('login-user').value.trim();
  const password = $('login-password').value;
  $('login-error').textContent = '';
  const problem = usernameProblem(username);
  if (problem) {
    $('login-error').textContent = problem;
    return;
  }
  if (password.length < 8) {
    $('login-error').textContent = 'The password needs at least 8 characters.';
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
      400: /user ?name/i.test(e.message) ? USERNAME_RULE : e.message,
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
  // A phone hides the sidebar, and the pill with it, while a chat is open: the chat's
  // header says it instead (only on a phone, and only while not online; see style.css),
  // in words that cannot be read as the state of the person the chat is with.
  $('chat-conn').textContent = state === 'online' ? '' : conn.textContent.replace(/^Offline/, 'No connection');
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
  if (chat.muted(c) && !mentionsMe(m, session.user)) return;
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
    // A contact request's Accept/Block depend on the contact's state.
    dirty.msgs = true;
    // Presence dots of the group members.
    dirty.info = true;
  } else if (what === 'info') {
    dirty.info = true;
    dirty.head = true;
  } else if (what === 'profiles') {
    dirty = { list: true, msgs: true, contacts: true, info: true, head: true };
    profile?.refresh();
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
  // This page is connected for its own user; the server reports presence of others only.
  const on = user === session.user ? socket?.state === 'online' : chat.online.get(user);
  return el('span', {
    class: `dot${on ? ' on' : ''}`,
    title: on ? 'online' : 'offline',
    'aria-label': on ? 'online' : 'offline',
    role: 'img',
  });
}

/** An unread count as shown: the server stops counting at 999. */
const count = (n) => (n >= 999 ? '999+' : String(n));

function renderList() {
  const list = $('conv-list');
  const focused = document.activeElement?.dataset?.conv;
  const archived = chat.archivedCount();
  if (!archived) showArchived = false;
  $('archived-btn').hidden = !archived && !showArchived;
  $('archived-btn').textContent = showArchived ? 'Back to chats' : `Archived chats (${archived})`;
  $('archived-btn').setAttribute('aria-expanded', String(showArchived));
  const items = chat.list(current, showArchived).map((c) => {
    const unread = chat.unread(c);
    const mentions = chat.mentions(c);
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
      c.kind === 'direct'
        ? el('span', { class: 'who' }, avatar(session.token, chat.profile(c.peer)?.avatar, title(c)), dot(c.peer))
        : c.kind === 'group'
          ? el('span', { class: 'who' }, avatar(session.token, c.info?.group?.avatar, title(c)))
          : el('span', { class: 'avatar', 'aria-hidden': 'true', text: '★' }),
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
        c.pinned || chat.muted(c)
          ? el('span', { class: 'flags' }, c.pinned ? el('span', { role: 'img', 'aria-label': 'pinned', text: '📌' }) : null, chat.muted(c) ? el('span', { role: 'img', 'aria-label': 'muted', text: '🔕' }) : null)
          : null,
        mentions ? el('span', { class: 'badge at', text: '@', 'aria-label': `${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` }) : null,
        unread ? el('span', { class: 'badge', text: count(unread), 'aria-label': `${count(unread)} unread` }) : null,
      ),
    );
    return el('li', {}, b);
  });
  list.replaceChildren(...items);
  $('conv-empty').hidden = items.length > 0 || !$('search-results').hidden;
  if (focused) list.querySelector(`[data-conv="${CSS.escape(focused)}"]`)?.focus();
}

function renderHead() {
  const c = current;
  $('chat-placeholder').hidden = !!c;
  $('messages').hidden = !c;
  $('composer').hidden = !c || c.kind === 'system' || c.gone;
  $('info-btn').hidden = !c || c.kind !== 'group' || c.gone;
  $('block-btn').hidden = !c || c.kind !== 'direct';
  $('profile-btn').hidden = !c || c.kind !== 'direct';
  $('conv-menu').hidden = !c || c.kind === 'system' || c.gone;
  for (const [id, on] of [['pin-btn', c?.pinned], ['mute-btn', c && chat.muted(c)], ['archive-btn', c?.archived]]) {
    $(id).setAttribute('aria-pressed', String(!!on));
  }
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
  $('typing').textContent = who.length ? `${who.map((u) => chat.name(u)).join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
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
  const firstBefore = list.querySelector('li.msg')?.dataset.key;

  const msgs = chat.messages(c);
  let seen = 0;
  if (c.kind === 'direct') {
    for (const m of msgs) if (m.from === session.user && m.seq <= c.peerRead) seen = m.seq;
  }
  const now = chat.now();
  const moderator = isModerator(c);
  // "Read by N": the latest own message of a group (asked again now and then; no push tells).
  let lastOwn = 0;
  if (c.kind === 'group') {
    for (const m of msgs) if (m.from === session.user && m.seq && m.kind !== 'custom') lastOwn = m.seq;
    if (lastOwn) askReadBy(c, lastOwn);
  }
  const existing = new Map([...list.children].map((li) => [li.dataset.key, li]));
  let prev = null;
  const rows = timeline(msgs, c.pending, { unreadAfter, me: session.user, now });
  for (const [i, row] of rows.entries()) {
    const key = row.kind === 'msg' ? keyOf(row.m) : row.key;
    let li = existing.get(key);
    if (!li) {
      li = el('li', { 'data-key': key });
      li.dataset.sig = '';
    }
    existing.delete(key);
    let sig;
    if (row.kind === 'msg') {
      const m = row.m;
      const own = m.seq && m.from === session.user;
      const content = m.seq && !['recalled', 'system', 'event', 'custom'].includes(m.kind);
      const recallable = content && ((own && now - m.ts < RECALL_WINDOW_MS) || moderator);
      const editable = own && content && m.text !== undefined && !m.file && now - m.ts < EDIT_WINDOW_MS;
      const readers = m.seq === lastOwn ? readBy.get(`${c.id}#${m.seq}`) : null;
      // Another member's message in a group: the sender's avatar beside the last bubble
      // of each run of theirs (as Telegram does), a gap of its width beside the others.
      const face = c.kind === 'group' && m.from !== session.user && !NOTES.includes(m.kind) ? { shown: runEnds(rows[i + 1], m.from), file: chat.profile(m.from)?.avatar } : null;
      sig = JSON.stringify([chat.name(m.from), face, m.seq, m.kind, m.text, m.status, m.seq === seen, recallable, editable, chat.contacts.get(metaOf(m)?.from), m.edited_ts, m.reactions, m.reply_preview, readers?.count, readers && readByOpen === `${c.id}#${m.seq}`]);
      if (li.dataset.sig !== sig) fillMessage(li, c, m, { seen: m.seq === seen, recallable, editable, readers, face });
    } else {
      sig = row.kind === 'day' ? row.label : 'new';
      if (li.dataset.sig !== sig) fillSeparator(li, row);
    }
    li.dataset.sig = sig;
    const want = prev ? prev.nextElementSibling : list.firstElementChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
  }
  for (const li of existing.values()) li.remove();

  $('older-btn').hidden = !c.loaded || c.complete;
  const prepended = firstBefore && list.querySelector('li.msg')?.dataset.key !== firstBefore;
  if (prepended && !atBottom) box.scrollTop = box.scrollHeight - fromBottom;
  else if (box.dataset.conv !== c.id && c.loaded) {
    // Opening a conversation: at its first unread message, else at the end.
    const divider = list.querySelector('li[data-key="new"]');
    if (divider) divider.scrollIntoView({ block: 'start' });
    else box.scrollTop = box.scrollHeight;
    box.dataset.conv = c.id;
  } else if (atBottom) box.scrollTop = box.scrollHeight;
}

/** The kinds of message shown as a notice line, not a bubble. */
const NOTES = ['event', 'system', 'custom'];

/** Whether a run of bubbles from `from` ends before `next` (a timeline row, or none). */
function runEnds(next, from) {
  return next?.kind !== 'msg' || next.m.from !== from || NOTES.includes(next.m.kind);
}

/** Whether the user is the owner or an admin of group `c` (may recall any message). */
function isModerator(c) {
  const me = c.kind === 'group' && c.info?.members?.find((x) => x.user === session.user);
  return !!me && (me.role === 'owner' || me.role === 'admin');
}

/** Asks who read `seq` of group `c`, unless asked recently; renders when the answer comes. */
function askReadBy(c, seq) {
  const key = `${c.id}#${seq}`;
  const had = readBy.get(key);
  if (had && (had.asking || Date.now() - had.at < READ_BY_EVERY_MS)) return;
  readBy.set(key, { ...had, asking: true, at: Date.now() });
  chat.readBy(c, seq).then(
    (r) => {
      readBy.set(key, { count: r.count, users: r.users || [], at: Date.now() });
      changed('msgs', { conv: c });
    },
    () => readBy.set(key, { ...had, at: Date.now() }),
  );
}

/** A day separator, or the "new messages" divider. */
function fillSeparator(li, row) {
  li.className = row.kind === 'day' ? 'sep day' : 'sep new';
  li.replaceChildren(el('span', { text: row.kind === 'day' ? row.label : 'New messages' }));
}

/** Why a send failed, in a few words. */
function failure(c, p) {
  switch (p.code) {
    case 'too_large':
      return 'too long';
    case 'blocked':
      return `${c.peer || 'they'} blocked you`;
    case 'forbidden':
      return 'you cannot write here';
    case 'not_found':
      return c.kind === 'direct' ? noSuchUser(c.peer) : 'no such group';
    case 'rate_limited':
      return 'too many messages at once';
    case 'closed':
    case 'timeout':
    case 'unavailable':
      return 'no connection';
    default:
      return p.error || 'not sent';
  }
}

/** The buttons of a failed send: Retry (only when it can succeed), Edit, Discard. */
function failedActions(c, m) {
  const actions = [];
  if (transient(m.code)) {
    actions.push(el('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => chat.retry(c, m).catch((e) => sendFailed(c, e)) }));
  }
  if (m.text !== undefined && !m.file && m.kind !== 'custom') {
    actions.push(
      el('button', {
        type: 'button',
        class: 'link',
        text: 'Edit',
        'aria-label': 'Edit this message',
        onclick: () => {
          chat.discard(c, m);
          const box = $('composer-text');
          box.value = m.text;
          composerChanged();
          box.focus();
        },
      }),
    );
  }
  actions.push(el('button', { type: 'button', class: 'link', text: 'Discard', 'aria-label': 'Discard this message', onclick: () => chat.discard(c, m) }));
  return actions;
}

function fillMessage(li, c, m, { seen, recallable, editable, readers, face }) {
  const mine = m.from === session.user;
  const meta = metaOf(m);
  li.dataset.seq = m.seq ? String(m.seq) : '';
  if (m.kind === 'event') {
    // A group change (§11 events): a notice line.
    li.className = 'msg note event';
    const when = el('time', { class: 'note-time', datetime: new Date(m.ts).toISOString(), text: timeOf(m.ts) });
    li.replaceChildren(el('div', { class: 'note-body' }, el('span', { class: 'note-text', text: noticeText(m, (u) => chat.name(u)) }), ' ', when));
    return;
  }
  if (m.kind === 'system' || m.kind === 'custom') {
    li.className = 'msg note';
    const body = el('span', { class: 'note-text' }, m.from !== 'system' ? el('strong', { text: `${m.from} ` }) : null, m.text || '');
    const actions = [];
    if (meta?.type === 'contact_request' && chat.contacts.get(meta.from) === 'incoming') {
      actions.push(
        el('button', { type: 'button', class: 'small', text: `Accept ${meta.from}`, onclick: () => chat.contact('contact_add', meta.from).catch(fail) }),
        el('button', { type: 'button', class: 'small', text: 'Block', 'aria-label': `Block ${meta.from}`, onclick: () => chat.contact('block', meta.from).catch(fail) }),
      );
    }
    const when = el('time', { class: 'note-time', datetime: new Date(m.ts).toISOString(), text: timeOf(m.ts) });
    li.replaceChildren(el('div', { class: 'note-body' }, body, ' ', when, ...actions));
    return;
  }
  li.className = `msg ${mine ? 'mine' : 'theirs'}${m.status ? ` ${m.status}` : ''}${!mine && mentionsMe(m, session.user) ? ' mentioned' : ''}`;
  const from = el('span', { class: c.kind === 'group' && !mine ? 'from' : 'sr-only', text: mine ? 'You' : chat.name(m.from) });
  let body;
  const save = () => files.download(session.token, m.file.file_id, m.file.name).catch(fail);
  if (m.kind === 'recalled') {
    body = el('em', { class: 'muted', text: 'Message recalled' });
  } else if ((m.kind === 'image' || m.kind === 'gif') && m.file && files.isImage(m.file.mime)) {
    // The bytes come with the token in a header; a click shows the image full size.
    const name = m.file.name || 'image';
    const img = el('img', { alt: name });
    img.addEventListener('load', () => {
      const box = $('messages');
      if (box.scrollHeight - box.scrollTop - box.clientHeight < img.height + 80) box.scrollTop = box.scrollHeight;
    });
    const url = files.imageUrl(session.token, m.file.file_id);
    url.then(
      (u) => {
        img.src = u;
      },
      () => {
        img.alt = `${name} (unavailable)`;
      },
    );
    body = el('button', {
      type: 'button',
      class: 'image',
      'aria-label': `View ${name}`,
      onclick: () => url.then((u) => showImage(u, name, save), fail),
    }, img);
  } else if (m.file) {
    const link = (ev) => {
      ev.preventDefault();
      save();
    };
    body = el('a', { href: '#', class: 'file', onclick: link }, `📄 ${m.file.name} `, el('span', { class: 'muted', text: `(${size(m.file.size)})` }));
  } else {
    body = el('span', { class: emojiOnly(m.text) ? 'text big' : 'text' }, ...linkify(m.text ?? ''));
  }
  const status = [];
  if (m.edited_ts && m.kind !== 'recalled') status.push(el('span', { class: 'edited', text: ' · edited', title: `Edited ${new Date(m.edited_ts).toLocaleString()}` }));
  if (m.status === 'sending') status.push(' · sending…');
  if (m.status === 'failed') status.push(el('span', { class: 'why', text: ` · not sent: ${failure(c, m)} ` }), ...failedActions(c, m));
  if (seen) status.push(el('span', { class: 'seen', text: ' · Seen' }));
  // The separator stays outside the button, so it is not underlined with the link.
  if (readers?.count !== undefined) status.push(' · ', readByButton(c, m, readers));
  const info = el('span', { class: 'meta' }, el('time', { datetime: new Date(m.ts).toISOString(), text: timeOf(m.ts) }), ...status);
  const media = (m.kind === 'image' || m.kind === 'gif') && m.file;
  const readerList =
    readers?.users && readByOpen === `${c.id}#${m.seq}`
      ? el('p', { class: 'readers', text: readers.users.length ? `Read by ${readers.users.join(', ')}${readers.count > readers.users.length ? ` and ${readers.count - readers.users.length} more` : ''}` : 'Nobody has read it yet.' })
      : null;
  // Decorative: the name is said in the bubble.
  const beside = face ? [el('span', { class: 'face' }, face.shown ? avatar(session.token, face.file, chat.name(m.from)) : null)] : [];
  li.replaceChildren(
    ...beside,
    el(
      'div',
      { class: media ? 'bubble media' : 'bubble' },
      from,
      m.reply_to && m.reply_preview
        ? quote(m.reply_preview, { me: session.user, name: (u) => chat.name(u), text: preview({ ...m.reply_preview, from: '' }).trim(), onJump: () => jumpTo(c, m.reply_to) })
        : null,
      body,
      m.kind === 'recalled' ? null : reactionsRow(m.reactions, { me: session.user, name: (u) => chat.name(u), onToggle: (emoji, add) => chat.react(c, m.seq, emoji, add).catch(fail) }),
      el('div', { class: 'foot' }, info, m.seq && m.kind !== 'recalled' ? actionsOf(c, m, { recallable, editable }) : null),
      readerList,
    ),
  );
}

/** What one can do to stored message `m` of `c`. */
function actionsOf(c, m, { recallable, editable }) {
  const writable = c.kind !== 'system' && !c.gone;
  return messageActions({
    react: writable ? () => startReact(c, m) : null,
    reply: writable ? () => startReply(c, m) : null,
    edit: editable ? () => startEdit(c, m) : null,
    remove: () => chat.remove(c, m.seq).catch(fail),
    recall: recallable ? () => chat.recall(c, m.seq).catch(fail) : null,
  });
}

/** "Read by N" under the latest own message of a group; a tap lists the readers. */
function readByButton(c, m, readers) {
  const key = `${c.id}#${m.seq}`;
  return el('button', {
    type: 'button',
    class: 'link read-by',
    text: `Read by ${readers.count}`,
    'aria-expanded': String(readByOpen === key),
    onclick: () => {
      readByOpen = readByOpen === key ? null : key;
      changed('msgs', { conv: c });
    },
  });
}

/** Scrolls to message `seq` of `c` (loading older pages until it is there) and marks it briefly. */
async function jumpTo(c, seq) {
  let found;
  try {
    found = await chat.reach(c, seq);
  } catch (e) {
    return fail(e);
  }
  if (current !== c) return;
  if (!found) return toast('That message is no longer there.');
  render();
  const li = $('msg-list').querySelector(`li[data-seq="${seq}"]`);
  if (!li) return toast('That message is no longer there.');
  li.scrollIntoView({ block: 'center' });
  li.classList.add('flash');
  li.tabIndex = -1;
  li.focus({ preventScroll: true });
  setTimeout(() => li.classList.remove('flash'), 2000);
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
      chat.profile(user);
      const name = chat.name(user);
      return el('li', { class: 'contact' }, dot(user), el('span', { class: 'name', text: name === user ? user : `${name} (@${user})` }), el('span', { class: 'actions' }, ...actions));
    }),
  );
  if (!rows.length) $('contact-list').replaceChildren(el('li', { class: 'muted empty', text: 'No contacts yet.' }));
}

function renderInfo() {
  const c = current;
  if (!c || c.kind !== 'group' || !c.info) return;
  const me = c.info.members.find((x) => x.user === session.user);
  const admin = me && (me.role === 'owner' || me.role === 'admin');
  $('info-title').textContent = title(c);
  $('info-id').textContent = c.group;
  $('add-form').hidden = !admin;
  $('info-desc').textContent = c.info.group.description || '';
  const owner = me?.role === 'owner';
  $('member-list').replaceChildren(
    ...c.info.members.map((x) => {
      const name = chat.name(x.user);
      const shown = name === x.user ? x.user : `${name} (@${x.user})`;
      return el(
        'li',
        { class: 'member' },
        avatar(session.token, chat.profile(x.user)?.avatar, name),
        dot(x.user),
        el('button', { type: 'button', class: 'link name', text: x.user === session.user ? `${shown} (you)` : shown, 'aria-label': `Profile of ${name}`, onclick: () => profile.show(x.user) }),
        el('span', { class: 'muted', text: x.role }),
        owner && x.user !== session.user
          ? el('button', {
              type: 'button',
              class: 'small',
              text: x.role === 'admin' ? 'Make member' : 'Make admin',
              'aria-label': `${x.role === 'admin' ? 'Make member' : 'Make admin'} ${x.user}`,
              onclick: () => chat.groupRole(c, x.user, x.role === 'admin' ? 'member' : 'admin').catch(fail),
            })
          : null,
        admin && x.user !== session.user && x.role !== 'owner'
          ? el('button', { type: 'button', class: 'small danger', text: 'Remove', 'aria-label': `Remove ${x.user}`, onclick: () => chat.groupKick(c, x.user).catch(fail) })
          : null,
      );
    }),
  );
  // Group settings (§13) for the owner and admins; a form being edited is left alone.
  const form = $('group-settings');
  form.hidden = !admin;
  if (admin && !form.contains(document.activeElement)) {
    $('gs-name').value = c.info.group.name || '';
    $('gs-desc').value = c.info.group.description || '';
    $('gs-public').checked = !!c.info.group.public;
  }
}

// ---- navigation ----------------------------------------------------------

let routed = null; // the fragment route() last showed: its own hashchange is not routed again

function openConv(id) {
  const hash = `#${encodeURIComponent(id)}`;
  if (location.hash !== hash) location.hash = hash;
  // At once rather than at the hashchange event a task later, so that the view never
  // lags the click that asked for it (the back button on a phone, a chat in the list).
  route();
}

/** Shows the conversation named by the URL fragment (or none). */
function route() {
  if (!chat) return;
  routed = location.hash;
  let id = '';
  try {
    id = decodeURIComponent(location.hash.slice(1));
  } catch {
    /* not ours */
  }
  const [kind, a, b] = id.split(':');
  const me = session.user;
  const valid =
    (kind === 'd' && a !== b && (a === me || b === me) && directConv(a, b) === id && !usernameProblem(a === me ? b : a)) ||
    (kind === 'g' && !!a) ||
    id === `s:${me}`;
  const c = valid ? chat.conv(id) : null;
  const changedConv = c !== current;
  current = c;
  document.body.classList.toggle('in-chat', !!c);
  if (changedConv) {
    // "New messages" marks what was unread when the conversation was opened.
    unreadAfter = c && c.last_seq > c.read_seq ? c.read_seq : null;
    delete $('messages').dataset.conv;
    $('msg-list').replaceChildren();
    $('info').hidden = true;
    $('info-btn').setAttribute('aria-expanded', 'false');
    $('emoji-panel').hidden = true;
    $('conv-menu').open = false;
    reactFor = null;
    readByOpen = null;
    readBy.clear();
    if (editing || replying) {
      if (editing) $('composer-text').value = '';
      endCompose();
    }
    mentioner?.close();
  }
  dirty = { list: true, msgs: true, contacts: true, info: true, head: true };
  render();
  if (!c) return;
  const jump = jumpAfterOpen?.conv === c.id ? jumpAfterOpen.seq : 0;
  jumpAfterOpen = null;
  if (!c.loaded) {
    chat.open(c).then(() => {
      markRead();
      if (jump) jumpTo(c, jump);
    }, fail);
  } else {
    markRead();
    if (jump) jumpTo(c, jump);
  }
  if (c.kind === 'group' && !c.gone) chat.groupInfo(c).catch(() => {});
  // A profile change is pushed to contacts and small groups only: ask when a chat is shown.
  if (changedConv && c.kind === 'direct') chat.refreshProfiles([c.peer]);
  const desktop = matchMedia('(min-width: 701px)').matches;
  if (((changedConv && desktop) || toComposer) && !$('composer').hidden) $('composer-text').focus();
  toComposer = false;
  if (changedConv) composerChanged();
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
  if (!current || bytes(text) > MAX_TEXT_BYTES) return;
  const c = current;
  if (editing) {
    const { seq } = editing;
    const was = c.msgs.get(seq)?.text;
    if (!text) return;
    endCompose();
    box.value = '';
    composerChanged();
    if (text !== was) chat.edit(c, seq, text).catch(fail);
    return;
  }
  if (!text) return;
  const reply_to = replying?.conv === c.id ? replying.seq : undefined;
  const mentions = c.kind === 'group' ? mentionsIn(text, new Set(mentionable(c))) : [];
  endCompose();
  box.value = '';
  composerChanged();
  toggleEmoji(false);
  chat.send(c, { kind: emojiOnly(text) ? 'emoji' : 'text', text, reply_to, mentions }).catch((e) => sendFailed(c, e));
}

/** Who may be @mentioned in group `c`: its members (not me), and "all" for owners and admins. */
function mentionable(c) {
  const members = (c.info?.members || []).map((x) => x.user).filter((u) => u !== session.user);
  return isModerator(c) ? ['all', ...members] : members;
}

/** The composer edits own message `m` (Enter saves, Escape cancels). */
function startEdit(c, m) {
  replying = null;
  editing = { conv: c.id, seq: m.seq };
  const box = $('composer-text');
  box.value = m.text || '';
  showCompose(`Editing your message`, 'Cancel editing');
  $('send-btn').textContent = 'Save';
  composerChanged();
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

/** The next message sent replies to `m`. */
function startReply(c, m) {
  if (editing) {
    editing = null;
    $('composer-text').value = '';
  }
  replying = { conv: c.id, seq: m.seq };
  const who = m.from === session.user ? 'yourself' : m.from;
  showCompose(`Replying to ${who}: ${preview({ ...m, from: '' }).trim()}`, 'Cancel reply');
  $('send-btn').textContent = 'Send';
  $('composer-text').focus();
}

/** The emoji picker reacts to `m` instead of inserting. */
function startReact(c, m) {
  reactFor = { conv: c.id, seq: m.seq };
  toggleEmoji(true);
}

function showCompose(text, cancelLabel) {
  $('compose-ctx-text').textContent = text;
  $('compose-ctx-cancel').setAttribute('aria-label', cancelLabel);
  $('compose-ctx').hidden = false;
}

/** Leaves edit or reply mode. */
function endCompose() {
  editing = null;
  replying = null;
  $('compose-ctx').hidden = true;
  $('send-btn').textContent = 'Send';
}

/** Cancels edit (emptying the box) or reply; true when there was one. */
function cancelCompose() {
  if (!editing && !replying) return false;
  if (editing) {
    $('composer-text').value = '';
    composerChanged();
  }
  endCompose();
  $('composer-text').focus();
  return true;
}

/** Up in an empty composer: edit the latest own message that can still be edited. */
function editLast() {
  const c = current;
  if (!c) return false;
  const now = chat.now();
  const own = chat
    .messages(c)
    .filter((m) => m.seq && m.from === session.user && ['text', 'emoji'].includes(m.kind) && now - m.ts < EDIT_WINDOW_MS)
    .pop();
  if (!own) return false;
  startEdit(c, own);
  return true;
}

/** A send that failed: the bubble says why; a direct chat with no such user goes away. */
function sendFailed(c, e) {
  if (e.code === 'not_found' && c.kind === 'direct' && !chat.convs.has(c.id)) {
    toast(noSuchUser(c.peer));
    if (current === c) openConv('');
  }
}

const encoder = new TextEncoder();
const bytes = (text) => encoder.encode(text).length;

/** The composer's size, its byte counter near the bound, and Send only within it. */
function composerChanged() {
  autosize();
  const box = $('composer-text');
  const n = bytes(box.value.trim());
  const over = n > MAX_TEXT_BYTES;
  const count = $('composer-count');
  count.hidden = n < COUNT_FROM_BYTES;
  count.classList.toggle('over', over);
  count.textContent = over
    ? `Too long to send: ${n.toLocaleString()} of ${MAX_TEXT_BYTES.toLocaleString()} bytes. Shorten it by ${(n - MAX_TEXT_BYTES).toLocaleString()}.`
    : `${n.toLocaleString()} of ${MAX_TEXT_BYTES.toLocaleString()} bytes`;
  $('send-btn').disabled = over;
  if (over) box.setAttribute('aria-invalid', 'true');
  else box.removeAttribute('aria-invalid');
}

function autosize() {
  const box = $('composer-text');
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
}

/** Uploads `picked` one by one, with progress and a Cancel button, and sends each. */
async function sendFiles(picked) {
  const c = current;
  for (const file of picked) {
    const job = upload(session.token, file, (sent, total) => {
      $('upload-progress').value = total ? sent / total : 0;
    });
    uploading = job;
    $('upload-name').textContent = `Uploading ${file.name} (${size(file.size)})`;
    $('upload-progress').value = 0;
    $('upload').hidden = false;
    let info;
    try {
      info = await job.done;
    } catch (e) {
      if (e.code === 'cancelled') toast(`Upload of ${file.name} cancelled.`);
      else fail(e);
      continue;
    } finally {
      uploading = null;
      $('upload').hidden = true;
    }
    // Only raster images are shown as images (an SVG is a file).
    const kind = info.mime === 'image/gif' ? 'gif' : files.isImage(info.mime) ? 'image' : 'file';
    const ref = { file_id: info.file_id, name: info.name, size: info.size, mime: info.mime };
    chat.send(c, { kind, file: ref }).catch((e) => sendFailed(c, e));
  }
}

function toggleEmoji(show = $('emoji-panel').hidden) {
  if (!show) reactFor = null;
  $('emoji-panel').hidden = !show;
  $('emoji-btn').setAttribute('aria-expanded', String(show));
  if (show) picker.open();
}

function insertEmoji(e) {
  if (reactFor) {
    const c = chat.conv(reactFor.conv);
    const { seq } = reactFor;
    toggleEmoji(false);
    const had = c.msgs.get(seq)?.reactions?.find((r) => r.emoji === e)?.me;
    if (!had) chat.react(c, seq, e, true).catch(fail);
    return;
  }
  const box = $('composer-text');
  const at = box.selectionStart ?? box.value.length;
  box.value = box.value.slice(0, at) + e + box.value.slice(box.selectionEnd ?? at);
  box.focus();
  box.selectionStart = box.selectionEnd = at + e.length;
  toggleEmoji(false);
}

// ---- §13 profiles, conversation settings, group settings -----------------

function wireProfiles() {
  profile = profilePanel({
    chat: () => chat,
    session: () => session,
    fail,
    toast,
    openChat: (user) => {
      toComposer = true;
      openConv(directConv(session.user, user));
    },
  });
  $('me-btn').addEventListener('click', () => profile.show(session.user));
  $('profile-btn').addEventListener('click', () => current?.peer && profile.show(current.peer));
  $('archived-btn').addEventListener('click', () => {
    showArchived = !showArchived;
    changed('convs');
  });
  const toggle = (id, field, value) =>
    $(id).addEventListener('click', () => {
      const c = current;
      $('conv-menu').open = false;
      if (c) chat.convSet(c, { [field]: value(c) }).catch(fail);
    });
  toggle('pin-btn', 'pinned', (c) => !c.pinned);
  toggle('archive-btn', 'archived', (c) => !c.archived);
  // Muted "until": a long time from now; the server does not interpret it.
  toggle('mute-btn', 'muted_until', (c) => (chat.muted(c) ? 0 : chat.now() + 10 * 365 * 86_400_000));
  $('group-settings').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const c = current;
    if (!c?.info) return;
    $('gs-error').textContent = '';
    // Only what changed: the server's `group_updated` event says each field it was given.
    const was = c.info.group;
    const next = { name: $('gs-name').value.trim(), description: $('gs-desc').value.trim(), public: $('gs-public').checked };
    const fields = Object.fromEntries(Object.entries(next).filter(([k, v]) => v !== (k === 'public' ? !!was[k] : was[k] || '')));
    if (!Object.keys(fields).length) return toast('Nothing changed.');
    chat.groupUpdate(c, fields).then(() => toast('Group settings saved.'), (e) => ($('gs-error').textContent = e.message));
  });
  $('gs-avatar').addEventListener('change', async (ev) => {
    const [file] = ev.target.files;
    ev.target.value = '';
    const c = current;
    if (!file || !c?.info) return;
    try {
      const info = await upload(session.token, await squareCrop(file), () => {}).done;
      await chat.groupUpdate(c, { avatar: info.file_id });
      toast('Group picture saved.');
    } catch (e) {
      $('gs-error').textContent = `The picture was not saved: ${e.message}`;
    }
  });
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
  $('start-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('start-user').value.trim();
    const check = await checkUser(user, session.user, chat.canProfile ? (users) => chat.lookup(users) : null);
    $('start-error').textContent = check.ok ? '' : check.why;
    if (!check.ok) return;
    $('start-user').value = '';
    toComposer = true;
    openConv(directConv(session.user, user));
  });
  $('start-user').addEventListener('input', () => ($('start-error').textContent = ''));
  $('login-user').addEventListener('input', lowercaseLogin);
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
  mentioner = mentionBox({
    input: box,
    list: $('mention-list'),
    candidates: () => (current?.kind === 'group' ? mentionable(current) : []),
  });
  box.addEventListener('keydown', (ev) => {
    if (ev.isComposing || mentioner.keydown(ev)) return;
    if (ev.key === 'Enter' && !ev.shiftKey) sendText(ev);
    else if (ev.key === 'Escape' && cancelCompose()) ev.preventDefault();
    else if (ev.key === 'ArrowUp' && !box.value && editLast()) ev.preventDefault();
  });
  box.addEventListener('blur', () => mentioner.close());
  $('compose-ctx-cancel').addEventListener('click', cancelCompose);
  searchBox({
    form: $('search-form'),
    input: $('search-q'),
    results: $('search-results'),
    status: $('search-status'),
    run: (q) => chat.search(q),
    open: (m) => {
      jumpAfterOpen = { conv: m.conv, seq: m.seq };
      openConv(m.conv);
    },
    describe: (m) => ({
      where: title(chat.conv(m.conv)),
      who: m.from === session.user ? 'You' : m.from,
      text: m.text || preview({ ...m, from: '' }).trim(),
      when: clock(m.ts),
    }),
    toggle: (searching) => {
      $('conv-list').hidden = searching;
      $('conv-empty').hidden = searching || chat.list(current).length > 0;
    },
  });
  box.addEventListener('input', () => {
    mentioner.update();
    composerChanged();
    if (current && box.value && Date.now() - lastTypingSent > TYPING_EVERY_MS) {
      lastTypingSent = Date.now();
      chat.typing(current).catch(() => {});
    }
  });
  picker = emojiPicker({
    search: $('emoji-search'),
    grid: $('emoji-grid'),
    status: $('emoji-status'),
    onPick: insertEmoji,
    onClose: () => {
      toggleEmoji(false);
      $('emoji-btn').focus();
    },
  });
  $('upload-cancel').addEventListener('click', () => uploading?.cancel());
  wireViewer();
  wireProfiles();
  $('emoji-btn').addEventListener('click', () => toggleEmoji());
  $('file-input').addEventListener('change', (ev) => {
    const picked = [...ev.target.files];
    ev.target.value = '';
    sendFiles(picked);
  });
  $('older-btn').addEventListener('click', () => current && chat.older(current).catch(fail));
  // A tap on a bubble (not on one of its controls) shows its actions, for screens without
  // hover; a tap anywhere else hides them again.
  document.addEventListener('click', (ev) => {
    const li = ev.target.closest?.('#msg-list li.msg');
    const onBubble = li && ev.target.closest('.bubble') && !ev.target.closest('button, a');
    for (const open of $('msg-list').querySelectorAll('li.acts-open')) if (open !== li) open.classList.remove('acts-open');
    if (onBubble) {
      li.classList.toggle('acts-open');
      placeActions(li, $('messages'));
    }
  });
  // The actions show on hover and focus too: placed first, so they are never cut off at
  // the top of the list.
  for (const type of ['mouseover', 'focusin']) {
    $('msg-list').addEventListener(type, (ev) => {
      const li = ev.target.closest?.('li.msg');
      if (li && !li.contains(ev.relatedTarget)) placeActions(li, $('messages'));
    });
  }
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
  // The back and forward buttons, a link to a fragment.
  window.addEventListener('hashchange', () => location.hash !== routed && route());
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
