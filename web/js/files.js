// Files in the page (§15): fetched with the `Authorization` header into a blob
// and shown through an object URL, so that the token never appears in a URL
// (URLs end up in history, logs and Referer headers). Only raster images are
// ever given an image type; everything else becomes an opaque download, so
// that no uploaded HTML or SVG can run as a page on the chat's origin.

import { ApiError } from './api.js';

/** The raster image types the page displays (the server serves only these inline). */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/** Whether a file of type `mime` may be shown as an image. */
export const isImage = (mime) => IMAGE_TYPES.includes(String(mime || '').split(';')[0].trim().toLowerCase());

/** The object URLs of images already fetched, by file id. */
const images = new Map();

/** The bytes of a file, fetched with the token in the header. */
async function fetchBlob(token, fileId) {
  let res;
  try {
    res = await fetch(`/v1/files/${encodeURIComponent(fileId)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
  } catch (e) {
    throw new ApiError(0, 'unavailable', `network: ${e.message}`);
  }
  if (!res.ok) {
    let code;
    try {
      code = (await res.json())?.error?.code;
    } catch {
      code = undefined;
    }
    throw new ApiError(res.status, code, `file ${fileId}: HTTP ${res.status}`);
  }
  return res.blob();
}

/**
 * An object URL showing file `fileId` as an image, fetched once per page.
 * Rejects when the file is not a raster image (whatever the message claims).
 */
export function imageUrl(token, fileId) {
  if (!images.has(fileId)) {
    const url = fetchBlob(token, fileId).then((blob) => {
      if (!isImage(blob.type)) throw new ApiError(415, 'bad_request', 'not an image');
      return URL.createObjectURL(new Blob([blob], { type: blob.type }));
    });
    // A failure is not kept: the next render tries again.
    url.catch(() => images.delete(fileId));
    images.set(fileId, url);
  }
  return images.get(fileId);
}

/** Saves file `fileId` as `name`: fetched, then handed to the browser as an opaque download. */
export async function download(token, fileId, name) {
  const blob = await fetchBlob(token, fileId);
  const url = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name || 'file';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
