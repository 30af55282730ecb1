// The emoji picker: a small grid of buttons that inserts into the composer.

const EMOJI = [
  ['😀', 'grinning'], ['😂', 'tears of joy'], ['😊', 'smiling'], ['😍', 'heart eyes'],
  ['😉', 'wink'], ['😎', 'cool'], ['🤔', 'thinking'], ['😢', 'crying'],
  ['😮', 'surprised'], ['😡', 'angry'], ['😴', 'sleeping'], ['🥳', 'party'],
  ['👍', 'thumbs up'], ['👎', 'thumbs down'], ['👏', 'clapping'], ['🙏', 'thanks'],
  ['👋', 'wave'], ['💪', 'strong'], ['🤝', 'handshake'], ['👀', 'eyes'],
  ['❤️', 'heart'], ['🔥', 'fire'], ['✨', 'sparkles'], ['🎉', 'celebration'],
  ['✅', 'done'], ['❌', 'no'], ['⭐', 'star'], ['💡', 'idea'],
  ['☕', 'coffee'], ['🍕', 'pizza'], ['🐟', 'fish'], ['🚀', 'rocket'],
];

/** True for a short text made of emoji only (shown large). */
export function emojiOnly(text) {
  return (
    typeof text === 'string' &&
    text.length <= 16 &&
    /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u200d|\ufe0f|\s)+$/u.test(text)
  );
}

/**
 * Fills `panel` with the picker. `onPick(emoji)` runs for a choice; Escape calls `onClose`.
 * Arrow keys move between the buttons.
 */
export function buildPicker(panel, onPick, onClose) {
  const cols = 8;
  const buttons = EMOJI.map(([e, label]) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'emoji';
    b.textContent = e;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', () => onPick(e));
    return b;
  });
  panel.replaceChildren(...buttons);
  panel.addEventListener('keydown', (ev) => {
    const i = buttons.indexOf(document.activeElement);
    const move = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols }[ev.key];
    if (ev.key === 'Escape') {
      ev.preventDefault();
      onClose();
    } else if (move && i >= 0) {
      ev.preventDefault();
      buttons[(i + move + buttons.length) % buttons.length].focus();
    }
  });
  return buttons;
}
