// <dialog> helpers: open modally with focus on a chosen field, give focus back to where it
// was when the dialog closes (Escape, a [data-close] button or close()).

const opener = new WeakMap();

function wire(dialog) {
  if (dialog.dataset.wired) return;
  dialog.dataset.wired = '1';
  dialog.addEventListener('click', (event) => {
    if (event.target.closest('[data-close]')) dialog.close('cancel');
  });
  dialog.addEventListener('close', () => {
    const previous = opener.get(dialog);
    opener.delete(dialog);
    if (previous?.isConnected && typeof previous.focus === 'function') previous.focus();
  });
}

/** Open `dialog` modally; `focus` is the element (or selector) to focus first. */
export function openDialog(dialog, { focus } = {}) {
  wire(dialog);
  if (!dialog.open) {
    opener.set(dialog, document.activeElement);
    // A dialog inside a hidden tab panel would not show: keep dialogs at the top level.
    if (dialog.parentElement !== document.body) document.body.append(dialog);
    dialog.showModal();
  }
  const target = typeof focus === 'string' ? dialog.querySelector(focus) : focus;
  if (target) target.focus();
  return dialog;
}

/** True while any modal dialog of the page is open. */
export function anyDialogOpen() {
  return Boolean(document.querySelector('dialog[open]'));
}
