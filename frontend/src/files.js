// The file list's behaviour (bundled with upload.js, which the folder pages load):
// - "select all" for the checkboxes of the page shown (the box is hidden without JS);
// - after the uploader finished a batch, the list is fetched again (htmx: only the
//   page's #listing fragment) so the new files appear without a reload.
// Copy buttons ([data-copy]) are thvc.js's, on every page.

function boxes(form) {
  return Array.from(form.querySelectorAll('input[type=checkbox][name=item]'));
}

function syncSelectAll() {
  const all = document.getElementById('select-all');
  const form = document.getElementById('selection');
  if (!all || !form) return;
  all.hidden = false;
  const items = boxes(form);
  const checked = items.filter((b) => b.checked).length;
  all.checked = items.length > 0 && checked === items.length;
  all.indeterminate = checked > 0 && checked < items.length;
}

document.addEventListener('change', (event) => {
  const target = event.target;
  if (!(target instanceof HTMLInputElement)) return;
  if (target.id === 'select-all') {
    const form = document.getElementById('selection');
    if (!form) return;
    for (const box of boxes(form)) box.checked = target.checked;
    syncSelectAll();
  } else if (target.name === 'item') {
    syncSelectAll();
  }
});

document.addEventListener('thvc:upload-complete', () => {
  const listing = document.getElementById('listing');
  if (!listing || !window.htmx) return;
  window.htmx
    .ajax('GET', window.location.pathname + window.location.search, {
      target: '#listing',
      swap: 'outerHTML',
    })
    .then(syncSelectAll);
});

document.addEventListener('htmx:afterSettle', syncSelectAll);

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', syncSelectAll);
} else {
  syncSelectAll();
}
