// The chat model: conversations, messages (de-duplicated by (conv, seq)), contacts,
// presence, typing and receipts, kept in step with the server over a `Socket`.
// No DOM here: every change is reported through `onChange(what, detail)`.

import { applyEvent, isChange, isUnknownEvent, mentionsMe, react, recalledCopy } from './events.js';

const PAGE = 50;
const CATCH_UP_PAGE = 200;
const TYPING_MS = 5000;

/** The direct conversation of two users: `d:<a>:<b>` with a < b. */
export function directConv(a, b) {
  return a < b ? `d:${a}:${b}` : `d:${b}:${a}`;
}

/** A fresh client message id (idempotency key of `send`). */
export function newClientMsgId() {
  const rnd = new Uint32Array(2);
  crypto.getRandomValues(rnd);
  return `w${Date.now().toString(36)}${rnd[0].toString(36)}${rnd[1].toString(36)}`;
}

/** Whether a failed request may succeed when sent again (the connection, the rate, the server). */
export function transient(code) {
  return ['closed', 'timeout', 'rate_limited', 'unavailable', 'internal'].includes(code);
}

/** The parsed `meta` of a message, or null. */
export function metaOf(m) {
  if (!m?.meta) return null;
  try {
    const meta = JSON.parse(m.meta);
    return meta && typeof meta === 'object' ? meta : null;
  } catch {
    return null;
  }
}

export class Chat {
  constructor(socket, me, onChange) {
    this.socket = socket;
    this.me = me;
    this.onChange = onChange;
    this.convs = new Map();
    this.contacts = new Map(); // user -> state
    this.online = new Map(); // user -> bool
    this.clockSkew = 0; // server_time - local time, ms
    this.profiles = new Map(); // user -> profile (§13), or null while asked
    this.wanted = new Set(); // users whose profile is to be asked
    this.canProfile = true; // false on a server without `profiles`
  }

  #emit(what, detail) {
    this.onChange(what, detail);
  }

  /** The conversation `id`, created empty when unknown. */
  conv(id) {
    let c = this.convs.get(id);
    if (!c) {
      const kind = id.startsWith('d:') ? 'direct' : id.startsWith('g:') ? 'group' : 'system';
      const [, a, b] = id.split(':');
      c = {
        id,
        kind,
        peer: kind === 'direct' ? (a === this.me ? b : a) : undefined,
        group: kind === 'group' ? id.slice(2) : undefined,
        name: undefined,
        last_seq: 0,
        read_seq: 0,
        last_ts: 0,
        msgs: new Map(), // seq -> message
        pending: [], // sends not yet acknowledged
        loaded: false, // [start, top] is complete
        start: 1,
        top: 0,
        complete: false, // start is seq 1
        peerRead: 0,
        typing: new Map(), // user -> expiry
        info: null, // group_info reply
        gone: false, // no longer a member
        fetching: null,
      };
      this.convs.set(id, c);
    }
    return c;
  }

  /**
   * Conversations, newest activity first. A direct chat with nothing in it yet is listed
   * only while it is `open` (so a mistyped name leaves nothing behind).
   */
  list(open = null, archived = false) {
    return [...this.convs.values()]
      .filter((c) => !c.gone || c.msgs.size)
      .filter((c) => c === open || c.kind !== 'direct' || c.last_seq > 0 || c.msgs.size || c.pending.length)
      .filter((c) => c === open || !!c.archived === archived)
      .sort((x, y) => (y.pinned ? 1 : 0) - (x.pinned ? 1 : 0) || y.last_ts - x.last_ts || x.id.localeCompare(y.id));
  }

  /** How many conversations are archived (§13), the open one aside. */
  archivedCount() {
    return this.list(null, true).length;
  }

  /** Whether `c` is muted now. */
  muted(c) {
    return (c.muted_until || 0) > this.now();
  }

  /** Unread messages of `c`: neither events nor the reader's own (`unread` of `sync`, then what came since). */
  unread(c) {
    return this.#count(c, 'unread', () => true);
  }

  /** Unread messages of `c` that mention the reader or everyone. */
  mentions(c) {
    return this.#count(c, 'mentions', (m) => mentionsMe(m, this.me));
  }

  #count(c, key, pick) {
    if (c.last_seq <= c.read_seq) return 0;
    const s = c.counted;
    let n = 0;
    let from = c.read_seq;
    if (s && s.read_seq === c.read_seq) {
      n = s[key];
      from = Math.max(from, s.last_seq);
    }
    for (const m of c.msgs.values()) {
      if (m.seq > from && m.kind !== 'event' && m.from !== this.me && !m.deletedForMe && pick(m)) n += 1;
    }
    return n;
  }

  totalUnread() {
    let n = 0;
    for (const c of this.convs.values()) if (!this.muted(c)) n += this.unread(c);
    return n;
  }

  /** The newest message held for `c` that shows in the timeline. */
  last(c) {
    let best = null;
    for (const m of c.msgs.values()) if (shown(m) && (!best || m.seq > best.seq)) best = m;
    return best;
  }

  /** Messages of `c` to show, ascending by seq: not deleted for me, no events that only change another. */
  messages(c) {
    return [...c.msgs.values()].filter(shown).sort((x, y) => x.seq - y.seq);
  }

  now() {
    return Date.now() + this.clockSkew;
  }

  // ---- catching up -------------------------------------------------------

  /** `sync`, then `history` for whatever moved: run after every (re)connect. */
  async sync() {
    const { convs = [] } = await this.socket.request('sync');
    const listed = new Set();
    const moved = [];
    for (const s of convs) {
      listed.add(s.conv);
      const c = this.conv(s.conv);
      c.kind = s.kind || c.kind;
      if (s.peer) c.peer = s.peer;
      if (s.group) c.group = s.group;
      if (s.name) c.name = s.name;
      c.gone = false;
      c.read_seq = Math.max(c.read_seq, s.read_seq || 0);
      c.last_ts = Math.max(c.last_ts, s.last_ts || 0);
      // §11 counts (an older server has none: every seq after the cursor counts).
      c.counted = {
        read_seq: s.read_seq || 0,
        last_seq: s.last_seq || 0,
        unread: s.unread ?? Math.max(0, (s.last_seq || 0) - (s.read_seq || 0)),
        mentions: s.mentions ?? 0,
      };
      // §13 settings of this conversation.
      c.muted_until = s.muted_until || 0;
      c.pinned = !!s.pinned;
      c.archived = !!s.archived;
      if ((s.last_seq || 0) > c.last_seq) {
        c.last_seq = s.last_seq;
        moved.push(c);
      }
    }
    for (const c of this.convs.values()) {
      if (c.kind === 'group' && !listed.has(c.id) && !c.pending.length) c.gone = true;
    }
    this.#emit('convs');
    const previews = [];
    for (const c of moved) {
      if (c.loaded) await this.fetchAfter(c);
      else if (previews.length < 40) previews.push(c);
    }
    // A preview (the last message) for conversations not opened yet, a few at a time.
    for (let i = 0; i < previews.length; i += 10) {
      await Promise.all(previews.slice(i, i + 10).map((c) => this.#preview(c)));
    }
    this.#emit('convs');
  }

  async #preview(c) {
    try {
      const { msgs = [] } = await this.socket.request('history', { conv: c.id, limit: 1 });
      this.#storePage(c, msgs);
    } catch {
      /* the list shows no preview */
    }
  }

  /** Loads the latest page of `c` the first time it is opened. */
  async open(c) {
    if (c.loaded || c.fetching) return c.fetching;
    c.fetching = (async () => {
      const { msgs = [] } = await this.socket.request('history', { conv: c.id, limit: PAGE });
      this.#storePage(c, msgs);
      c.start = msgs.length ? msgs[0].seq : c.last_seq + 1;
      c.top = msgs.length ? msgs[msgs.length - 1].seq : c.last_seq;
      c.complete = msgs.length < PAGE || c.start <= 1;
      c.loaded = true;
    })();
    try {
      await c.fetching;
    } finally {
      c.fetching = null;
    }
    this.#emit('msgs', { conv: c });
    if (c.last_seq > c.top) await this.fetchAfter(c);
  }

  /** Scroll-back: the page before the oldest message held. Resolves false at the start. */
  async older(c) {
    if (!c.loaded || c.complete) return false;
    const { msgs = [] } = await this.socket.request('history', {
      conv: c.id,
      before: c.start,
      limit: PAGE,
    });
    this.#storePage(c, msgs);
    if (msgs.length) c.start = msgs[0].seq;
    c.complete = msgs.length < PAGE || c.start <= 1;
    this.#emit('msgs', { conv: c, older: true });
    return msgs.length > 0;
  }

  /** Fills `c` from its contiguous top up to the newest message (`history after`). */
  async fetchAfter(c) {
    if (c.fetching) {
      c.refetch = true;
      return c.fetching;
    }
    c.fetching = (async () => {
      do {
        c.refetch = false;
        for (;;) {
          const { msgs = [] } = await this.socket.request('history', {
            conv: c.id,
            after: c.top,
            limit: CATCH_UP_PAGE,
          });
          this.#storePage(c, msgs);
          this.#advance(c);
          if (msgs.length) c.top = Math.max(c.top, msgs[msgs.length - 1].seq);
          if (msgs.length < CATCH_UP_PAGE) break;
        }
      } while (c.refetch);
    })();
    try {
      await c.fetching;
    } finally {
      c.fetching = null;
    }
    this.#emit('msgs', { conv: c });
  }

  #advance(c) {
    while (c.msgs.has(c.top + 1)) c.top += 1;
  }

  /**
   * Keeps a page of `history`: each message shows its state as of the reply, which takes
   * in every event up to the newest seq known now.
   */
  #storePage(c, msgs) {
    const asOf = Math.max(c.last_seq, ...msgs.map((m) => m.seq));
    for (const m of msgs) this.#store(m, asOf);
  }

  /**
   * Keeps `m` (its state as of seq `asOf`: a push shows a message as sent); an event
   * changes the message it refers to. True when `m` was not held before.
   */
  #store(m, asOf = m.seq) {
    const c = this.conv(m.conv);
    const had = c.msgs.get(m.seq);
    const next = { ...m, asOf: Math.max(asOf, m.seq) };
    let keep = next;
    if (had && (had.kind === 'recalled' || (had.asOf || 0) > next.asOf)) keep = had;
    if (had?.deletedForMe) keep = { ...keep, deletedForMe: true };
    c.msgs.set(m.seq, keep);
    if (isChange(m)) this.#apply(c, m);
    c.last_seq = Math.max(c.last_seq, m.seq);
    c.last_ts = Math.max(c.last_ts, m.ts || 0);
    if (m.from === this.me) c.pending = c.pending.filter((p) => p.client_msg_id !== m.client_msg_id);
    return !had;
  }

  // ---- pushes ------------------------------------------------------------

  /** Handles a server push; returns the message when it is a new one from someone else. */
  push(key, body) {
    switch (key) {
      case 'msg':
        return this.#pushMsg(body);
      case 'receipt': {
        const c = this.conv(body.conv);
        if (body.user === this.me) c.read_seq = Math.max(c.read_seq, body.seq);
        else c.peerRead = Math.max(c.peerRead, body.seq);
        this.#emit('receipt', { conv: c });
        break;
      }
      case 'typing': {
        if (body.user === this.me) break;
        const c = this.conv(body.conv);
        c.typing.set(body.user, Date.now() + TYPING_MS);
        this.#emit('typing', { conv: c });
        break;
      }
      case 'recalled':
        this.#recalled(this.conv(body.conv), body.seq);
        break;
      case 'deleted':
        this.#deleted(this.conv(body.conv), body.seq);
        break;
      case 'profile':
        // Someone's profile changed: ask again.
        this.refreshProfiles([body.user]);
        break;
      case 'conv_settings': {
        const c = this.conv(body.conv);
        c.muted_until = body.muted_until || 0;
        c.pinned = !!body.pinned;
        c.archived = !!body.archived;
        this.#emit('convs');
        break;
      }
      case 'presence':
        this.online.set(body.user, !!body.online);
        this.#emit('presence', { user: body.user });
        break;
      default:
        break;
    }
    return null;
  }

  /** Message `seq` of `c` now reads "recalled" (its content is gone). */
  #recalled(c, seq) {
    const m = c.msgs.get(seq);
    if (m && m.kind !== 'recalled') c.msgs.set(seq, recalledCopy(m));
    this.#unquote(c, seq);
    this.#emit('msgs', { conv: c });
  }

  /** Replies quoting recalled message `seq` lose the quoted text. */
  #unquote(c, seq) {
    for (const [s, m] of c.msgs) {
      if (m.reply_to === seq && m.reply_preview && m.reply_preview.kind !== 'recalled') {
        c.msgs.set(s, { ...m, reply_preview: { from: m.reply_preview.from, kind: 'recalled' } });
      }
    }
  }

  /** Event `ev` changes the message it refers to, when that is held. */
  #apply(c, ev) {
    const target = c.msgs.get(ev.event.ref);
    if (target) {
      const next = applyEvent(target, ev, this.me);
      c.msgs.set(target.seq, next.deletedForMe || !target.deletedForMe ? next : { ...next, deletedForMe: true });
    }
    if (ev.event.type === 'recall') this.#unquote(c, ev.event.ref);
  }

  #pushMsg(m) {
    const known = this.convs.has(m.conv);
    const c = this.conv(m.conv);
    const fresh = m.seq > c.last_seq && !c.msgs.has(m.seq);
    const gap = c.loaded && m.seq > c.top + 1;
    this.#store(m);
    c.typing.delete(m.from);
    if (c.loaded) this.#advance(c);
    if (c.kind === 'group' && m.event?.type === 'member_kicked' && m.event.user === this.me) c.gone = true;
    if (fresh && m.event?.type === 'group_updated' && m.event.name) c.name = m.event.name;
    // A member or settings change: the members, roles, name shown are asked again.
    if (c.kind === 'group' && c.info && !c.gone && fresh && m.kind === 'event' && !isChange(m)) this.groupInfo(c).catch(() => {});
    this.#emit('msgs', { conv: c, live: fresh ? m : null });
    if (gap) this.fetchAfter(c).catch(() => {});
    // A conversation we did not know (a new group, a first message): learn its name.
    if (!known) this.sync().catch(() => {});
    if (c.kind === 'system') this.refreshContacts().catch(() => {});
    return fresh && m.from !== this.me && m.kind !== 'event' ? m : null;
  }

  /** Drops expired typing marks; true when something changed. */
  expireTyping() {
    const now = Date.now();
    let changed = false;
    for (const c of this.convs.values()) {
      for (const [user, until] of c.typing) {
        if (until < now) {
          c.typing.delete(user);
          changed = true;
        }
      }
    }
    return changed;
  }

  // ---- requests ----------------------------------------------------------

  /** Marks everything in `c` read (sends `read` only when it moves the cursor). */
  async markRead(c) {
    const seq = c.last_seq;
    if (seq <= c.read_seq) return;
    c.read_seq = seq;
    this.#emit('convs');
    await this.socket.request('read', { conv: c.id, seq });
  }

  /** Sends a message to `c`; shows it as pending until acknowledged. */
  async send(c, { kind = 'text', text, file, meta, reply_to, mentions }) {
    const quoted = reply_to ? c.msgs.get(reply_to) : null;
    const p = {
      reply_to: quoted ? reply_to : undefined,
      reply_preview: quoted ? { from: quoted.from, kind: quoted.kind, text: (quoted.text || '').slice(0, 200) } : undefined,
      mentions,
      conv: c.id,
      client_msg_id: newClientMsgId(),
      from: this.me,
      kind,
      text,
      file,
      meta,
      ts: this.now(),
      status: 'sending',
    };
    c.pending.push(p);
    c.last_ts = Math.max(c.last_ts, p.ts);
    this.#emit('msgs', { conv: c, live: null, mine: true });
    return this.#deliver(c, p);
  }

  /** Sends pending message `p` again (same client_msg_id: the server keeps one). */
  retry(c, p) {
    p.status = 'sending';
    p.code = undefined;
    this.#emit('msgs', { conv: c });
    return this.#deliver(c, p);
  }

  async #deliver(c, p) {
    const body = { client_msg_id: p.client_msg_id, kind: p.kind };
    if (p.reply_to) body.reply_to = p.reply_to;
    if (p.mentions?.length) body.mentions = p.mentions;
    if (c.kind === 'direct') body.to = c.peer;
    else body.conv = c.id;
    if (p.text !== undefined) body.text = p.text;
    if (p.file) body.file = p.file;
    if (p.meta !== undefined) body.meta = p.meta;
    for (let attempt = 0; ; attempt++) {
      try {
        const ok = await this.socket.request('send', body, 30_000);
        c.pending = c.pending.filter((x) => x !== p);
        const m = { ...body, conv: ok.conv, seq: ok.seq, id: ok.id, ts: ok.ts, from: this.me, reply_preview: p.reply_preview };
        delete m.to;
        this.#store(m);
        if (c.loaded) this.#advance(c);
        if (c.loaded && ok.seq > c.top) this.fetchAfter(c).catch(() => {});
        this.#emit('msgs', { conv: c });
        return m;
      } catch (e) {
        // A connection lost mid-request: the reconnect may follow; try again.
        if ((e.code === 'closed' || e.code === 'timeout') && attempt < 2) continue;
        if (e.code === 'forbidden' && c.kind === 'group') c.gone = true;
        p.status = 'failed';
        p.code = e.code;
        p.error = e.message;
        if (e.code === 'not_found' && c.kind === 'direct') this.#forgetEmpty(c);
        this.#emit('msgs', { conv: c });
        throw e;
      }
    }
  }

  /** Drops failed message `p` (discarded, or taken back into the composer to edit). */
  discard(c, p) {
    c.pending = c.pending.filter((x) => x !== p);
    this.#emit('msgs', { conv: c });
  }

  /** A direct chat whose peer does not exist: forgotten unless it holds messages. */
  #forgetEmpty(c) {
    if (c.msgs.size || c.last_seq) return;
    c.pending = [];
    this.convs.delete(c.id);
    this.#emit('convs');
  }

  async typing(c) {
    await this.socket.request('typing', { conv: c.id });
  }

  /** Recalls own message `seq`; the recalling page hears no push, so it updates itself. */
  async recall(c, seq) {
    await this.socket.request('recall', { conv: c.id, seq });
    this.#recalled(c, seq);
    this.#caughtUp(c);
  }

  async refreshContacts() {
    const { contacts = [] } = await this.socket.request('contacts');
    this.contacts = new Map(contacts.map((x) => [x.user, x.state]));
    for (const x of contacts) this.online.set(x.user, !!x.online);
    this.#emit('contacts');
  }

  /** Presence of `users`: by default the peers of direct conversations (contacts or not). */
  async refreshPresence(users = [...this.convs.values()].filter((c) => c.kind === 'direct' && c.peer).map((c) => c.peer)) {
    users = users.filter((u) => u !== this.me).slice(0, 500);
    if (!users.length) return;
    const { online = [] } = await this.socket.request('presence', { users });
    const on = new Set(online);
    for (const u of users) this.online.set(u, on.has(u));
    this.#emit('presence', {});
  }

  async contact(op, user) {
    await this.socket.request(op, { user });
    await this.refreshContacts();
  }

  /** Writes a note into a group (so every member sees the change), e.g. "joined". */
  note(c, action, text, users = []) {
    const meta = JSON.stringify({ type: 'group', action, users });
    return this.send(c, { kind: 'custom', text, meta });
  }

  async groupCreate(name, members, isPublic) {
    const { group } = await this.socket.request('group_create', {
      name,
      members,
      public: isPublic,
    });
    const c = this.conv(`g:${group.id}`);
    c.name = group.name;
    c.last_ts = this.now();
    c.loaded = true;
    c.complete = true;
    const text = `created the group “${group.name}”${members.length ? ` with ${members.join(', ')}` : ''}`;
    await this.note(c, 'created', text, members);
    return c;
  }

  async groupJoin(id) {
    await this.socket.request('group_join', { group: id });
    const c = this.conv(`g:${id}`);
    c.gone = false;
    // The server appends a `member_added` event from the joiner (§11): every member sees it.
    await this.sync();
    if (c.loaded) await this.fetchAfter(c);
    return c;
  }

  async groupInfo(c) {
    c.info = await this.socket.request('group_info', { group: c.group });
    if (c.info.group?.name) c.name = c.info.group.name;
    this.#emit('info', { conv: c });
    // Names and pictures are pushed to small groups' members only: ask when shown.
    this.refreshProfiles(c.info.members.map((m) => m.user).slice(0, 500));
    // The members' dots: presence is pushed for contacts only.
    await this.refreshPresence(c.info.members.map((m) => m.user)).catch(() => {});
    return c.info;
  }

  async groupAdd(c, users) {
    // A `member_added` event (§11) tells every member, the new ones included.
    await this.socket.request('group_add', { group: c.group, users });
    this.#caughtUp(c);
    await this.groupInfo(c);
  }

  async groupKick(c, user) {
    // The server's `member_kicked` event (§11) tells the members left and the one removed.
    await this.socket.request('group_kick', { group: c.group, user });
    this.#caughtUp(c);
    await this.groupInfo(c);
  }

  async groupLeave(c) {
    await this.socket.request('group_leave', { group: c.group });
    c.gone = true;
    this.convs.delete(c.id);
    this.#emit('convs');
  }

  // ---- §11 message lifecycle: edit, reactions, delete for me, read_by, search ----

  /**
   * After an operation whose event (§11) the server pushes to everyone but the acting
   * connection, and whose reply carries no seq: fetch the event, so the seq order stays
   * gapless here too.
   */
  #caughtUp(c) {
    if (c.loaded) this.fetchAfter(c).catch(() => {});
  }

  /** Marks `seq` deleted for me (it stays held, so the seq order stays gapless). */
  #deleted(c, seq) {
    const m = c.msgs.get(seq);
    if (m) c.msgs.set(seq, { ...m, deletedForMe: true });
    this.#emit('msgs', { conv: c });
  }

  /** Edits own message `seq`; the editing page hears no push of its event, so it keeps it itself. */
  async edit(c, seq, text) {
    const { seq: at } = await this.socket.request('edit', { conv: c.id, seq, text });
    this.#store({ conv: c.id, seq: at, id: '', from: this.me, kind: 'event', ts: this.now(), client_msg_id: '', event: { type: 'edit', ref: seq, text } });
    if (c.loaded) this.#advance(c);
    this.#emit('msgs', { conv: c });
  }

  /** Adds (`add`) or takes back the reader's `emoji` on message `seq`. */
  async react(c, seq, emoji, add = true) {
    await this.socket.request(add ? 'react' : 'unreact', { conv: c.id, seq, emoji });
    const m = c.msgs.get(seq);
    if (m) c.msgs.set(seq, { ...m, reactions: react(m.reactions, emoji, this.me, add, this.me) });
    this.#emit('msgs', { conv: c });
    this.#caughtUp(c);
  }

  /** "Delete for me". */
  async remove(c, seq) {
    await this.socket.request('delete', { conv: c.id, seq });
    this.#deleted(c, seq);
  }

  /** Who (other than me) has read `seq`: `{count, users}`. */
  readBy(c, seq) {
    return this.socket.request('read_by', { conv: c.id, seq });
  }

  /** Messages matching `q`, newest first (`conv` narrows it). */
  async search(q, { conv, before, limit = 20 } = {}) {
    const body = { q, limit };
    if (conv) body.conv = conv;
    if (before) body.before = before;
    const { msgs = [] } = await this.socket.request('search', body);
    return msgs;
  }

  /** Loads older pages of `c` until `seq` is held (or the start is reached); true when it is. */
  async reach(c, seq) {
    if (!c.loaded) await this.open(c);
    while (!c.msgs.has(seq) && !c.complete && seq < c.start) {
      if (!(await this.older(c))) break;
    }
    return c.msgs.has(seq);
  }

  // ---- §13 profiles, conversation settings, privacy, group settings ----

  /** `user`'s profile when known; else null, and it is asked for (a few at a time). */
  profile(user) {
    if (!user || user === 'system') return null;
    const p = this.profiles.get(user);
    if (p === undefined && this.canProfile && !this.wanted.has(user)) {
      this.wanted.add(user);
      if (this.wanted.size === 1) queueMicrotask(() => this.#askProfiles());
    }
    return p || null;
  }

  /** Asks the profiles of `users` again (the ones held stay shown meanwhile). */
  refreshProfiles(users) {
    if (!this.canProfile) return;
    const first = !this.wanted.size;
    for (const u of users) if (u && u !== 'system') this.wanted.add(u);
    if (first && this.wanted.size) queueMicrotask(() => this.#askProfiles());
  }

  /** The name to show for `user`: the display name, else the username. */
  name(user) {
    return this.profiles.get(user)?.display_name || user;
  }

  async #askProfiles() {
    const users = [...this.wanted].slice(0, 500);
    for (const u of users) {
      this.wanted.delete(u);
      if (!this.profiles.get(u)) this.profiles.set(u, null);
    }
    if (this.wanted.size) queueMicrotask(() => this.#askProfiles());
    try {
      const { profiles = [] } = await this.socket.request('profiles', { users });
      for (const p of profiles) this.profiles.set(p.user, p);
      this.#emit('profiles');
    } catch (e) {
      if (e.code === 'bad_request' && /unknown|operation/i.test(e.message)) this.canProfile = false;
      // Asked again when shown next.
      for (const u of users) if (this.profiles.get(u) === null) this.profiles.delete(u);
    }
  }

  /** Profiles of `users` now (unknown users are left out). */
  async lookup(users) {
    const { profiles = [] } = await this.socket.request('profiles', { users });
    for (const p of profiles) this.profiles.set(p.user, p);
    return profiles;
  }

  async profileSet(fields) {
    await this.socket.request('profile_set', fields);
    this.profiles.delete(this.me);
    await this.lookup([this.me]);
    this.#emit('profiles');
  }

  /** Sets `fields` of `muted_until`, `pinned`, `archived` for `c` (synced to my other devices). */
  async convSet(c, fields) {
    await this.socket.request('conv_set', { conv: c.id, ...fields });
    Object.assign(c, fields);
    this.#emit('convs');
  }

  settings() {
    return this.socket.request('settings');
  }

  settingsSet(fields) {
    return this.socket.request('settings_set', fields);
  }

  async groupUpdate(c, fields) {
    await this.socket.request('group_update', { group: c.group, ...fields });
    this.#caughtUp(c);
    await this.groupInfo(c);
  }

  async groupRole(c, user, role) {
    await this.socket.request('group_role', { group: c.group, user, role });
    this.#caughtUp(c);
    await this.groupInfo(c);
  }

}

/** Whether `m` is a row of the timeline. */
function shown(m) {
  return !m.deletedForMe && !isChange(m) && !isUnknownEvent(m);
}
