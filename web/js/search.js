// The message search box (§11 `search`): results, newest first, replace the chat list
// while a query is in the box; choosing one opens its conversation at that message.
// Escape or an empty box brings the chat list back.

import { el } from './dom.js';

const DEBOUNCE_MS = 300;

/**
 * Wires the search `input` (inside `form`) to `results` (a list) and `status` (a line);
 * `run(q)` resolves to messages, `open(m)` shows one, `describe(m)` gives
 * `{where, who, text, when}`; `toggle(searching)` hides or shows the chat list.
 */
export function searchBox({ form, input, results, status, run, open, describe, toggle }) {
  let timer = 0;
  let asked = 0;

  function clear() {
    results.replaceChildren();
    results.hidden = true;
    status.textContent = '';
    toggle(false);
  }

  async function search() {
    clearTimeout(timer);
    const q = input.value.trim();
    const n = ++asked;
    if (!q) return clear();
    toggle(true);
    results.hidden = false;
    status.textContent = 'Searching…';
    let msgs;
    try {
      msgs = await run(q);
    } catch (e) {
      if (n !== asked) return;
      status.textContent = e.code === 'bad_request' && /unknown|operation/i.test(e.message) ? 'This server cannot search.' : `Search failed: ${e.message}`;
      results.replaceChildren();
      return;
    }
    if (n !== asked) return;
    status.textContent = msgs.length ? `${msgs.length === 1 ? '1 message' : `${msgs.length} messages`} found` : `Nothing found for “${q}”.`;
    results.replaceChildren(
      ...msgs.map((m) => {
        const d = describe(m);
        return el(
          'li',
          {},
          el(
            'button',
            { type: 'button', class: 'search-hit', 'data-conv': m.conv, 'data-seq': String(m.seq), onclick: () => open(m) },
            el('span', { class: 'hit-head' }, el('strong', { text: d.where }), el('time', { text: d.when })),
            el('span', { class: 'hit-text', text: `${d.who}: ${d.text}` }),
          ),
        );
      }),
    );
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    search();
  });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && input.value) {
      ev.preventDefault();
      input.value = '';
      asked++;
      clear();
    }
  });
  return { clear };
}
