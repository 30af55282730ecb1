// The rows of an open conversation: messages in seq order, own unacknowledged sends
// placed by time among them (a failed one stays where it was written, not pinned below
// newer messages), a separator at each new day, and a "new messages" divider before the
// first message from someone else that was unread when the conversation was opened.
// No DOM here.

/** The local day of `ts`, as a key. */
function dayOf(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** "Today", "Yesterday", or the date. */
export function dayLabel(ts, now = Date.now()) {
  const day = dayOf(ts);
  if (day === dayOf(now)) return 'Today';
  if (day === dayOf(now - 86_400_000)) return 'Yesterday';
  const d = new Date(ts);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: sameYear ? undefined : 'numeric' });
}

/** `msgs` (ascending seq) with `pending` merged in by time. */
function merged(msgs, pending) {
  const out = [];
  const failed = pending.filter((p) => p.status === 'failed').sort((a, b) => a.ts - b.ts);
  for (const m of msgs) {
    while (failed.length && failed[0].ts < m.ts) out.push(failed.shift());
    out.push(m);
  }
  // Sends in flight are the newest thing in the conversation.
  return out.concat(failed, pending.filter((p) => p.status !== 'failed'));
}

/**
 * The rows to show: `{kind: 'day', key, label}`, `{kind: 'new', key}` and
 * `{kind: 'msg', m}`. `unreadAfter` is the read cursor when the conversation was opened
 * (null: no divider); `me` is the user, whose own messages are never "new".
 */
export function rows(msgs, pending, { unreadAfter = null, me, now = Date.now() } = {}) {
  const out = [];
  let day = null;
  let divided = unreadAfter === null;
  for (const m of merged(msgs, pending)) {
    const d = dayOf(m.ts);
    if (d !== day) {
      day = d;
      out.push({ kind: 'day', key: `day:${d}`, label: dayLabel(m.ts, now) });
    }
    if (!divided && m.seq > unreadAfter && m.from !== me) {
      divided = true;
      out.push({ kind: 'new', key: 'new' });
    }
    out.push({ kind: 'msg', m });
  }
  return out;
}
