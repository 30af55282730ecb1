// Links in message text: http(s) URLs become links that open in a new tab without
// telling the target who sent the reader. Everything is built as text nodes and
// elements (never HTML), so a message can never inject markup.

/** A URL candidate: scheme, then anything up to white space or an angle bracket. */
const URL_LIKE = /\bhttps?:\/\/[^\s<>]+/gi;

/** Punctuation that usually ends a sentence rather than the URL. */
const TRAILING = /[.,;:!?'")\]}]+$/;

/** `href` when `candidate` is an http or https URL, else null. */
function safeHref(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** `text` as nodes: plain text, with each http(s) URL an `<a>`. */
export function linkify(text) {
  const nodes = [];
  let at = 0;
  for (const match of text.matchAll(URL_LIKE)) {
    let candidate = match[0];
    // Trailing punctuation ends the sentence, not the URL.
    const trail = candidate.match(TRAILING)?.[0] || '';
    candidate = candidate.slice(0, candidate.length - trail.length);
    const href = safeHref(candidate);
    if (!href) continue;
    if (match.index > at) nodes.push(document.createTextNode(text.slice(at, match.index)));
    const a = document.createElement('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = candidate;
    nodes.push(a);
    at = match.index + candidate.length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}
