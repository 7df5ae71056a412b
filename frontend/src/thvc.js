// Every ThVC page loads this module: htmx, configured for the pages' CSP, and a few
// helpers. The pages run under `Content-Security-Policy: default-src 'self'`: no inline
// script or style, no eval. So htmx must not add its indicator <style> (the rules are in
// app.css) and must not evaluate anything (hx-on / js: would be blocked anyway).
import htmx from 'htmx.org';

htmx.config.includeIndicatorStyles = false;
htmx.config.allowEval = false;
htmx.config.allowScriptTags = false;
htmx.config.selfRequestsOnly = true;
window.htmx = htmx;

const CSRF_HEADER = 'X-CSRF-Token';

/** This page's CSRF token: the layout puts it on <body data-csrf>. */
export function csrfToken() {
  return document.body ? document.body.dataset.csrf || '' : '';
}

// Requests from htmx carry the token as a header (the server checks field or header).
document.addEventListener('htmx:configRequest', (event) => {
  const token = csrfToken();
  if (token) event.detail.headers[CSRF_HEADER] = token;
});

let announcer = null;

/** Say ``text`` to screen readers (a polite live region, made on first use). */
export function announce(text) {
  if (!announcer || !announcer.isConnected) {
    announcer = document.getElementById('thvc-announcer');
    if (!announcer) {
      announcer = document.createElement('div');
      announcer.id = 'thvc-announcer';
      announcer.className = 'visually-hidden';
      announcer.setAttribute('aria-live', 'polite');
      announcer.setAttribute('aria-atomic', 'true');
      document.body.appendChild(announcer);
    }
  }
  // Changed text is what a live region reads; clear first so a repeat is read again.
  announcer.textContent = '';
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/**
 * Copy buttons: <button type="button" data-copy="ID" data-copied="Copied">: copies the
 * value (or text) of the element with that id and announces data-copied.
 */
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  const source = document.getElementById(button.dataset.copy || '');
  if (!source) return;
  const text = 'value' in source ? source.value : source.textContent || '';
  try {
    await navigator.clipboard.writeText(text);
    if (button.dataset.copied) announce(button.dataset.copied);
  } catch {
    if (typeof source.select === 'function') source.select();
  }
});

// After an htmx swap, move focus to an element marked data-focus (e.g. a new message),
// so keyboard and screen-reader users land on what changed.
document.addEventListener('htmx:afterSettle', (event) => {
  const target = event.detail && event.detail.elt;
  const focus = target && target.querySelector ? target.querySelector('[data-focus]') : null;
  if (focus) {
    if (!focus.hasAttribute('tabindex')) focus.setAttribute('tabindex', '-1');
    focus.focus();
  }
});

window.thvc = Object.freeze({ announce, csrfToken });

export { htmx };
