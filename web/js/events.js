// Events (§11): a message of kind `event` changes the message it refers to (`ref`) —
// an edit, a reaction added or taken back, a recall — or tells of a group change, shown
// as a notice line. Applying an event twice changes nothing the second time, so an event
// seen both as a push and again from `history` is harmless. No DOM here.

/** Event types that change another message (never shown as a row of their own). */
const CHANGES = new Set(['edit', 'react', 'unreact', 'recall']);

/** Whether `m` is an event that only changes another message (hidden from the timeline). */
export function isChange(m) {
  return m.kind === 'event' && CHANGES.has(m.event?.type);
}

/** Whether `m` is an event of a type this page does not know (ignored, as the docs ask). */
export function isUnknownEvent(m) {
  return m.kind === 'event' && !CHANGES.has(m.event?.type) && !NOTICES[m.event?.type];
}

const NOTICES = {
  member_added: (from, e) => (from === e.user ? `${from} joined the group` : `${from} added ${e.user}`),
  member_left: (from) => `${from} left the group`,
  member_kicked: (from, e) => `${from} removed ${e.user}`,
  role_changed: (from, e) => `${from} made ${e.user} ${e.role === 'owner' ? 'the owner' : `${e.role === 'admin' ? 'an admin' : 'a member'}`}`,
  group_updated: (from, e) => {
    const what = [];
    if (e.name) what.push(`renamed the group “${e.name}”`);
    if (e.description !== undefined && e.description !== null) what.push(e.description ? 'changed the description' : 'removed the description');
    if (e.avatar !== undefined && e.avatar !== null) what.push(e.avatar ? 'changed the group picture' : 'removed the group picture');
    if (e.public !== undefined && e.public !== null) what.push(e.public ? 'made the group public' : 'made the group private');
    return `${from} ${what.length ? what.join(', ') : 'changed the group settings'}`;
  },
};

/** The notice line of a group event, e.g. "alice added carol"; null for other events. */
export function noticeText(m, name = (u) => u) {
  const say = NOTICES[m.event?.type];
  if (!say) return null;
  const e = { ...m.event, user: m.event.user && name(m.event.user) };
  return say(name(m.from), e);
}

/** `m` as it reads once recalled: no text, file, meta, edit or reactions. */
export function recalledCopy(m) {
  return {
    conv: m.conv,
    seq: m.seq,
    id: m.id,
    from: m.from,
    kind: 'recalled',
    ts: m.ts,
    client_msg_id: m.client_msg_id,
    asOf: m.asOf,
  };
}

/** `reactions` with `user`'s `emoji` added (`add`) or taken back; `me` is the reader. */
export function react(reactions = [], emoji, user, add, me) {
  const out = reactions.map((r) => ({ ...r, users: [...(r.users || [])] }));
  let r = out.find((x) => x.emoji === emoji);
  const mine = user === me;
  if (add) {
    if (!r) {
      r = { emoji, count: 0, users: [], me: false };
      out.push(r);
    }
    // Already counted: the user is listed, or (for the reader) `me` says so.
    if (r.users.includes(user) || (mine && r.me)) return out;
    r.count += 1;
    if (r.users.length < 10) r.users.push(user);
    if (mine) r.me = true;
    return out;
  }
  if (!r) return out;
  const listed = r.users.includes(user);
  if (mine ? !r.me : !listed && r.count <= r.users.length) return out;
  r.count -= 1;
  r.users = r.users.filter((u) => u !== user);
  if (mine) r.me = false;
  return out.filter((x) => x.count > 0);
}

/**
 * The message `target` after event `ev` (a message of kind `event`), or `target` itself
 * when the event is older than what `target` already shows (`asOf`).
 */
export function applyEvent(target, ev, me) {
  if (!target || ev.seq <= (target.asOf || 0)) return target;
  const e = ev.event;
  if (target.kind === 'recalled') return { ...target, asOf: ev.seq };
  switch (e.type) {
    case 'edit': {
      const next = { ...target, edited_ts: ev.ts, asOf: ev.seq };
      if (e.text !== undefined && e.text !== null) next.text = e.text;
      if (e.meta !== undefined && e.meta !== null && e.meta !== '') next.meta = e.meta;
      return next;
    }
    case 'react':
    case 'unreact':
      return { ...target, reactions: react(target.reactions, e.emoji, ev.from, e.type === 'react', me), asOf: ev.seq };
    case 'recall':
      return { ...recalledCopy(target), asOf: ev.seq };
    default:
      return target;
  }
}

/** Whether `m` mentions `me` (by name, or everyone). */
export function mentionsMe(m, me) {
  return Array.isArray(m.mentions) && (m.mentions.includes(me) || m.mentions.includes('all'));
}
