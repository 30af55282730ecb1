// @mentions in the composer: while the word at the caret starts with "@", a list of the
// group's members that fit (arrow keys move, Enter or Tab takes one, Escape closes); on
// send, the names written as @name that are members become the message's `mentions`.

import { el } from './dom.js';

const AT_WORD = /(^|\s)@([a-z0-9_.-]*)$/i;
const MENTION = /(^|\s)@([a-z0-9][a-z0-9_.-]*)/gi;

/** The users `text` mentions as `@name`, among `allowed` (a Set; may hold "all"). */
export function mentionsIn(text, allowed) {
  const out = new Set();
  for (const [, , name] of text.matchAll(MENTION)) {
    const user = name.toLowerCase().replace(/[.-]+$/, '');
    if (allowed.has(user)) out.add(user);
  }
  return [...out];
}

/**
 * The autocomplete of `input` (a textarea) into `list` (an empty `<ul role="listbox">`);
 * `candidates()` gives the names that may be mentioned now (none: no list).
 * `keydown(ev)` is true when the list used the key.
 */
export function mentionBox({ input, list, candidates }) {
  let shown = [];
  let active = 0;

  function close() {
    shown = [];
    list.hidden = true;
    list.replaceChildren();
    input.removeAttribute('aria-activedescendant');
  }

  function word() {
    const at = input.selectionStart ?? input.value.length;
    const m = AT_WORD.exec(input.value.slice(0, at));
    return m ? { prefix: m[2].toLowerCase(), start: at - m[2].length - 1, end: at } : null;
  }

  function draw() {
    list.replaceChildren(
      ...shown.map((name, i) =>
        el('li', {
          id: `mention-${i}`,
          role: 'option',
          class: 'mention-option',
          'aria-selected': String(i === active),
          text: name === 'all' ? '@all (everyone)' : `@${name}`,
          // mousedown, not click: the composer keeps the focus.
          onmousedown: (ev) => {
            ev.preventDefault();
            pick(i);
          },
        }),
      ),
    );
    input.setAttribute('aria-activedescendant', `mention-${active}`);
  }

  function update() {
    const w = word();
    const names = w ? candidates().filter((n) => n.startsWith(w.prefix)).slice(0, 8) : [];
    if (!names.length) return close();
    shown = names;
    active = Math.min(active, names.length - 1);
    list.hidden = false;
    draw();
  }

  function pick(i) {
    const w = word();
    const name = shown[i];
    if (!w || !name) return close();
    const text = `@${name} `;
    input.value = input.value.slice(0, w.start) + text + input.value.slice(w.end);
    const caret = w.start + text.length;
    input.setSelectionRange(caret, caret);
    input.dispatchEvent(new Event('input'));
    close();
  }

  function keydown(ev) {
    if (list.hidden || !shown.length) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      active = (active + (ev.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
      draw();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      pick(active);
    } else if (ev.key === 'Escape') {
      close();
    } else {
      return false;
    }
    ev.preventDefault();
    return true;
  }

  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  close();
  return { update, keydown, close };
}
