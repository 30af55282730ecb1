// Uploads with progress: `POST /v1/files` through XMLHttpRequest, whose upload events
// report the bytes sent (fetch cannot), and which `abort()` cancels.

import { ApiError } from './api.js';

/**
 * Starts uploading `file`. Returns `{done, cancel}`: `done` resolves with the server's
 * `{file_id, name, size, mime}` or rejects with an `ApiError` (code `cancelled` after
 * `cancel()`); `onProgress(sent, total)` reports the bytes sent so far.
 */
export function upload(token, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    const name = file.name || 'file';
    xhr.open('POST', `/v1/files?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) onProgress(ev.loaded, ev.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data) return resolve(data);
      const err = data?.error;
      reject(new ApiError(xhr.status, err?.code, err?.message || `upload: HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'unavailable', 'upload: network error'));
    xhr.onabort = () => reject(new ApiError(0, 'cancelled', 'upload cancelled'));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}
