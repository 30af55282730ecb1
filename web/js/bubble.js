// The §11 parts of a message bubble: the quote of the message replied to, the reaction
// counts, and the actions (react, reply, edit, delete for me, recall). Callers pass what
// happens on a click; nothing here talks to the server.

import { el } from './dom.js';

/**
 * The quote of `p` (a `reply_preview`): "In reply to" the sender, and the text (`text`
 * when the preview has none, e.g. an image); `onJump()` on a click.
 */
export function quote(p, { me, name, text, onJump }) {
  const who = p.from === me ? 'You' : name(p.from);
  const said = p.kind === 'recalled' ? 'Message recalled' : p.text || text || p.kind;
  return el(
    'button',
    { type: 'button', class: 'quote', title: 'Show the original', onclick: onJump },
    el('strong', {}, el('span', { class: 'sr-only', text: 'In reply to ' }), who),
    el('span', { text: said }),
  );
}

/**
 * One button per reaction with its count, pressed when one is the reader's; who reacted
 * shows on hover and focus (and is part of the name). `onToggle(emoji, add)`.
 */
export function reactionsRow(reactions, { me, name, onToggle }) {
  if (!reactions?.length) return null;
  return el(
    'div',
    { class: 'reactions' },
    ...reactions.map((r) => {
      const names = (r.users || []).map((u) => (u === me ? 'you' : name(u)));
      const more = r.count - names.length;
      const who = `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
      return el(
        'button',
        { type: 'button', class: 'reaction', 'aria-pressed': String(!!r.me), 'data-who': who, title: who, onclick: () => onToggle(r.emoji, !r.me) },
        el('span', { class: 'reaction-emoji', text: r.emoji }),
        el('span', { class: 'reaction-count', text: String(r.count) }),
        el('span', { class: 'sr-only', text: ` from ${who}` }),
      );
    }),
  );
}

/** The actions of a stored message; each of `on` that is given is offered. */
export function messageActions(on) {
  const act = (text, label, onclick) => (onclick ? el('button', { type: 'button', class: 'link act', text, 'aria-label': label, onclick }) : null);
  return el(
    'span',
    { class: 'acts' },
    act('React', 'React to this message', on.react),
    act('Reply', 'Reply to this message', on.reply),
    act('Edit', 'Edit this message', on.edit),
    act('Delete', 'Delete this message for me', on.remove),
    act('Recall', 'Recall this message', on.recall),
  );
}

/**
 * Keeps the actions of message row `li` inside `view` (the scrolled message list): they
 * float above the bubble's top edge, which for the topmost visible message may be out of
 * view; then they go just below the top of what is shown of the bubble instead.
 */
export function placeActions(li, view) {
  const acts = li.querySelector('.acts');
  if (!acts) return;
  li.classList.remove('acts-below');
  acts.style.top = '';
  const top = view.getBoundingClientRect().top;
  if (acts.getBoundingClientRect().top >= top) return;
  const bubble = acts.closest('.bubble').getBoundingClientRect();
  li.classList.add('acts-below');
  acts.style.top = `${Math.max(0, top - bubble.top) + 4}px`;
}
