// Uploads with Uppy's Dashboard over tus (resumable: pause, resume, retry).
// A page includes this module and an element
//   <div id="uploader" data-endpoint="/api/v1/uploads" data-folder="/Akten"
//        data-csrf="…" data-lang="de" data-listing="/files/Akten"></div>
//   <p id="upload-status" aria-live="polite"></p>      (made if missing)
// The Dashboard is mounted inline in #uploader; progress is announced in #upload-status
// ("42 %", then "100 % – Upload complete"). When a batch is done, #uploader gets a
// `thvc:upload-complete` event whose detail is Uppy's result ({successful, failed}), for
// the page to refresh its list (files.js does, on the folder pages). tus authenticates
// with the web session cookie and data-csrf as X-CSRF-Token. data-listing (optional) is
// the folder's page: the folders of a chosen or dropped folder are made there first.
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import Tus from '@uppy/tus';
import de_DE from '@uppy/locales/lib/de_DE.js';

import './files.js';

const TEXT = {
  de: {
    paused: 'Angehalten',
    resumed: 'Fortgesetzt',
    complete: 'Hochladen abgeschlossen',
    failed: 'Fehlgeschlagen',
  },
  en: {
    paused: 'Paused',
    resumed: 'Resumed',
    complete: 'Upload complete',
    failed: 'Failed',
  },
};

/** Mount the uploader on ``el`` (reads its data-* attributes); returns the Uppy instance. */
export function mountUploader(el) {
  const lang = el.dataset.lang === 'de' ? 'de' : 'en';
  const text = TEXT[lang];
  const endpoint = el.dataset.endpoint || '/api/v1/uploads';
  const folder = el.dataset.folder || '/';
  const csrf = el.dataset.csrf || '';

  let status = document.getElementById('upload-status');
  if (!status) {
    status = document.createElement('p');
    status.id = 'upload-status';
    status.className = 'upload-status';
    el.insertAdjacentElement('afterend', status);
  }
  status.setAttribute('aria-live', 'polite');
  const say = (message) => {
    status.textContent = message;
  };

  const uppy = new Uppy({
    id: 'thvc-uploader',
    autoProceed: false,
    locale: lang === 'de' ? de_DE : undefined,
    meta: { folder },
  });
  uppy.use(Dashboard, {
    inline: true,
    target: el,
    width: '100%',
    height: 360,
    theme: 'light',
    proudlyDisplayPoweredByUppy: false, // a link to another host
    disableThumbnailGenerator: true, // blob: images, which the CSP (img-src 'self') blocks
    hidePauseResumeButton: false,
    hideProgressDetails: false,
    showRemoveButtonAfterComplete: false,
    // "browse files or folders": a chosen (or dropped) folder keeps its tree (see below).
    fileManagerSelectionType: 'both',
  });
  uppy.use(Tus, {
    endpoint,
    headers: csrf ? { 'X-CSRF-Token': csrf } : {},
    allowedMetaFields: ['name', 'type', 'folder'],
    retryDelays: [0, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
  });

  // A dropped folder: Uppy gives each file its path in it (meta.relativePath,
  // "Akten/2026/plan.pdf"). tus puts a file into a folder that must exist, so the
  // folders are made first (the page's folder URL, action=mkdirs, like `mkdir -p`),
  // then each file goes to its own folder.
  const listing = el.dataset.listing || '';
  if (listing) {
    uppy.addPreProcessor(async (fileIDs) => {
      const made = new Set();
      for (const id of fileIDs) {
        const file = uppy.getFile(id);
        const relative = (file && file.meta && file.meta.relativePath) || '';
        const cut = relative.lastIndexOf('/');
        if (cut <= 0) continue;
        const dir = relative.slice(0, cut).replace(/^\/+/, '');
        if (!made.has(dir)) {
          const response = await fetch(listing, {
            method: 'POST',
            credentials: 'same-origin',
            headers: {
              'Content-Type': 'application/x-www-form-urlencoded',
              'X-CSRF-Token': csrf,
            },
            body: new URLSearchParams({ action: 'mkdirs', path: dir }),
          });
          if (!response.ok) throw new Error(`${dir}: ${response.status}`);
          made.add(dir);
        }
        const base = folder.replace(/\/+$/, '');
        uppy.setFileMeta(id, { folder: base ? `${base}/${dir}` : dir });
      }
    });
  }

  // Screen readers: the rounded total, at most every 2 s while it runs (a live region
  // that changes every few milliseconds is read as noise), and always the end.
  let shown = -1;
  let shownAt = 0;
  // Between a batch's end and the next one, late (throttled) progress events must not
  // overwrite "complete" in the status.
  let finished = false;
  uppy.on('upload', () => {
    finished = false;
    shown = -1;
  });
  uppy.on('progress', (percent) => {
    const value = Math.floor(percent);
    const now = Date.now();
    if (finished || value === shown || (value < 100 && value > 0 && now - shownAt < 2000)) return;
    shown = value;
    shownAt = now;
    say(`${value} %`);
  });
  uppy.on('pause-all', () => say(`${Math.max(shown, 0)} % – ${text.paused}`));
  uppy.on('resume-all', () => say(`${Math.max(shown, 0)} % – ${text.resumed}`));
  uppy.on('upload-pause', (_file, isPaused) =>
    say(`${Math.max(shown, 0)} % – ${isPaused ? text.paused : text.resumed}`),
  );
  uppy.on('complete', (result) => {
    const failed = (result.failed || []).length;
    shown = 100;
    say(failed ? `${text.failed}: ${failed}` : `100 % – ${text.complete}`);
    el.dispatchEvent(new CustomEvent('thvc:upload-complete', { detail: result, bubbles: true }));
    finished = true;
    // All went in: after a moment, the Dashboard is empty again for the next files (the
    // list shows the new ones; the status above keeps saying it is done). Failed files
    // stay, with Uppy's retry.
    if (!failed) window.setTimeout(() => uppy.clear(), 1500);
  });
  return uppy;
}

function start() {
  const el = document.getElementById('uploader');
  if (el && !el.dataset.mounted) {
    el.dataset.mounted = '1';
    window.thvcUploader = mountUploader(el);
  }
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
