// Avatars (§13): an image cut to a centred square on a canvas before it is uploaded, and
// the small round pictures shown wherever a user or group appears (their bytes fetched
// with the token in a header, once per file by `files.imageUrl`).

import * as files from './files.js';
import { el } from './dom.js';

/** The side, in pixels, of an uploaded avatar. */
export const AVATAR_PX = 256;

/** `file` (an image) cut to its centred square and scaled to `px`: a PNG `File`. */
export async function squareCrop(file, px = AVATAR_PX) {
  const bitmap = await createImageBitmap(file);
  const side = Math.min(bitmap.width, bitmap.height);
  const canvas = document.createElement('canvas');
  canvas.width = px;
  canvas.height = px;
  const g = canvas.getContext('2d');
  g.imageSmoothingQuality = 'high';
  g.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, px, px);
  bitmap.close();
  const blob = await new Promise((res, rej) => canvas.toBlob((b) => (b ? res(b) : rej(new Error('The image could not be cropped.'))), 'image/png'));
  return new File([blob], 'avatar.png', { type: 'image/png' });
}

/**
 * A round avatar for `name` (its initial when there is no picture, or until it loads);
 * `fileId` is the profile's or group's `avatar`. Decorative: the name is said next to it.
 */
export function avatar(token, fileId, name, size = 'small') {
  const initial = [...(name || '?')][0].toUpperCase();
  const node = el('span', { class: `avatar-pic ${size}`, 'aria-hidden': 'true' }, el('span', { text: initial }));
  if (fileId) {
    files.imageUrl(token, fileId).then(
      (u) => node.replaceChildren(el('img', { src: u, alt: '' })),
      () => {},
    );
  }
  return node;
}
