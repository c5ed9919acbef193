// Small progressive enhancements; every page works without this file.
(() => {
  'use strict';

  // The colour theme chosen on the editor page (static/js/editor/monaco.js keeps the
  // switch) applies to every page; "system" follows the operating system.
  function applyPageTheme() {
    var choice = 'system';
    try {
      choice = window.localStorage.getItem('fnide.theme') || 'system';
    } catch {}
    var dark =
      choice === 'dark' ||
      (choice === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.setAttribute('data-theme', dark ? 'dark' : 'light');
  }
  applyPageTheme();
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyPageTheme);

  // Ask before destructive POSTs: <form data-confirm="...">.
  document.addEventListener('submit', (event) => {
    var message = event.target.getAttribute?.('data-confirm');
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener('click', (event) => {
    var button = event.target.closest?.('[data-copy]');
    if (!button || !navigator.clipboard) return;
    var source = document.querySelector(button.getAttribute('data-copy'));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      button.textContent = 'Copied';
    });
  });

  // Tab inserts two spaces in code textareas instead of leaving the field.
  document.addEventListener('keydown', (event) => {
    var area = event.target;
    if (
      event.key !== 'Tab' ||
      !area.classList ||
      !area.classList.contains('code') ||
      area.readOnly
    ) {
      return;
    }
    event.preventDefault();
    var start = area.selectionStart;
    area.setRangeText('  ', start, area.selectionEnd, 'end');
  });

  // Show the function picker only when a role is limited to selected functions.
  function syncScope(fieldset) {
    var subset = fieldset.querySelector('input[type=radio][value="subset"]');
    var picker = fieldset.querySelector('.scope-functions');
    if (subset && picker) picker.hidden = !subset.checked;
  }
  document.querySelectorAll('[data-scope]').forEach((fieldset) => {
    syncScope(fieldset);
    fieldset.addEventListener('change', () => {
      syncScope(fieldset);
    });
  });
})();
