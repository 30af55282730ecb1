// The emoji picker: every emoji of Emojibase's English data (vendored in
// web/vendor/emojibase/, loaded on the first open), by group, with a search over
// names and tags. Arrow keys move in the grid, Escape closes.

const DATA = '/static/vendor/emojibase/compact.json';
const MESSAGES = '/static/vendor/emojibase/messages.json';
/** Emojibase's group 2 is skin tones and hair parts, not emoji to send on their own. */
const COMPONENTS = 2;
/** At most this many search results are shown. */
const MAX_RESULTS = 160;

/** True for a short text made of emoji only (shown large). */
export function emojiOnly(text) {
  return (
    typeof text === 'string' &&
    text.length <= 16 &&
    /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}|\u200d|\ufe0f|\u20e3|\s)+$/u.test(text)
  );
}

async function loadJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** `[{group, emoji: [{unicode, label, words}]}]` in Emojibase's order. */
async function loadGroups() {
  const [data, messages] = await Promise.all([loadJson(DATA), loadJson(MESSAGES)]);
  const names = new Map(messages.groups.map((g) => [g.order, g.message]));
  const groups = new Map();
  for (const e of data.sort((a, b) => (a.order ?? 0) - (b.order ?? 0))) {
    if (e.group === undefined || e.group === COMPONENTS) continue;
    if (!groups.has(e.group)) groups.set(e.group, { name: names.get(e.group) || '', emoji: [] });
    const words = [e.label, ...(e.tags || [])].join(' ').toLowerCase();
    groups.get(e.group).emoji.push({ unicode: e.unicode, label: e.label, name: e.label.toLowerCase(), words });
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

/** The button of the nearest row above (`dir` -1) or below (1) of `from`, same column. */
function verticalNeighbour(buttons, from, dir) {
  const top = from.offsetTop;
  const left = from.offsetLeft;
  let best = null;
  let bestRow = null;
  for (const b of buttons) {
    const dy = (b.offsetTop - top) * dir;
    if (dy <= 0) continue;
    if (bestRow === null || dy < bestRow) {
      bestRow = dy;
      best = b;
    } else if (dy === bestRow && Math.abs(b.offsetLeft - left) < Math.abs(best.offsetLeft - left)) {
      best = b;
    }
  }
  return best;
}

/**
 * The picker in `panel`, with its `search` input, `grid` and `status` line. `onPick(emoji)`
 * runs for a choice; Escape calls `onClose`. Returns `{open()}`: loads the data the first
 * time, then focuses the search box.
 */
export function emojiPicker({ search, grid, status, onPick, onClose }) {
  let groups = null;
  let loading = null;
  // Enter pressed before the data arrived: pick the first match once it has.
  let pickWhenLoaded = false;

  function button(e) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'emoji';
    b.textContent = e.unicode;
    b.title = e.label;
    b.setAttribute('aria-label', e.label);
    b.addEventListener('click', () => onPick(e.unicode));
    return b;
  }

  function heading(text) {
    const h = document.createElement('h3');
    h.className = 'emoji-group';
    h.textContent = text;
    return h;
  }

  function render() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) {
      grid.replaceChildren(...groups.flatMap((g) => [heading(g.name), ...g.emoji.map(button)]));
      status.textContent = '';
      return;
    }
    // Best first: the name itself, then names holding every word, then tags.
    const query = words.join(' ');
    const rank = (e) => (e.name === query ? 0 : words.every((w) => e.name.includes(w)) ? 1 : 2);
    const found = groups
      .flatMap((g) => g.emoji)
      .filter((e) => words.every((w) => e.words.includes(w)))
      .map((e, i) => ({ e, i, rank: rank(e) }))
      .sort((a, b) => a.rank - b.rank || a.i - b.i)
      .slice(0, MAX_RESULTS)
      .map((x) => x.e);
    grid.replaceChildren(...found.map(button));
    status.textContent = found.length ? `${found.length} found` : 'No emoji found.';
  }

  search.addEventListener('input', () => groups && render());
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      grid.querySelector('button')?.focus();
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      if (groups) grid.querySelector('button')?.click();
      else pickWhenLoaded = true;
    }
  });
  grid.addEventListener('keydown', (ev) => {
    const buttons = [...grid.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    let next = null;
    if (ev.key === 'ArrowRight') next = buttons[i + 1];
    else if (ev.key === 'ArrowLeft') next = i === 0 ? search : buttons[i - 1];
    else if (ev.key === 'ArrowDown') next = verticalNeighbour(buttons, buttons[i], 1);
    else if (ev.key === 'ArrowUp') next = verticalNeighbour(buttons, buttons[i], -1) || search;
    else return;
    ev.preventDefault();
    next?.focus();
  });
  for (const el of [search, grid]) {
    el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') {
        pickWhenLoaded = false;
        ev.preventDefault();
        ev.stopPropagation();
        onClose();
      }
    });
  }

  return {
    async open() {
      if (!groups) {
        status.textContent = 'Loading emoji…';
        loading ||= loadGroups();
        try {
          groups = await loading;
        } catch (e) {
          loading = null;
          pickWhenLoaded = false;
          status.textContent = `Emoji could not be loaded (${e.message}).`;
          return;
        }
        render();
        if (pickWhenLoaded) {
          pickWhenLoaded = false;
          grid.querySelector('button')?.click();
          return;
        }
      }
      search.focus();
      search.select();
    },
  };
}
