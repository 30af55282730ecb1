// The image viewer: an image shown full size in a modal `<dialog>` (which keeps the
// focus inside and closes on Escape), with Close and Save buttons. Focus returns to
// the image that opened it.

const $ = (id) => document.getElementById(id);

let saveCurrent = null;
let opener = null;

/** Wires the dialog's buttons once. */
export function wireViewer() {
  const dialog = $('viewer');
  $('viewer-close').addEventListener('click', () => dialog.close());
  $('viewer-save').addEventListener('click', () => saveCurrent?.());
  // A click on the backdrop (the dialog itself, outside the figure) closes it too.
  dialog.addEventListener('click', (ev) => {
    if (ev.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    $('viewer-img').removeAttribute('src');
    saveCurrent = null;
    opener?.focus();
    opener = null;
  });
}

/** Shows image `url` (an object URL) named `name`; `save()` downloads it. */
export function showImage(url, name, save) {
  $('viewer-img').src = url;
  $('viewer-img').alt = name;
  $('viewer-name').textContent = name;
  saveCurrent = save;
  opener = document.activeElement;
  $('viewer').showModal();
  $('viewer-close').focus();
}
