/**
 * The pages' only scripts, served from Kodah's own origin (the CSP allows no inline script). They
 * touch the DOM through textContent and attributes only: what they show is never parsed as HTML.
 */

/** /dashboard.js: while a listed job is queued or running, its row follows /dashboard/jobs.json every 2 s. */
export const DASHBOARD_SCRIPT = `'use strict';
(function () {
  var POLL_MS = 2000;
  function liveRows() { return document.querySelectorAll('tr[data-job][data-live="1"]'); }
  function update(jobs) {
    var byId = {};
    jobs.forEach(function (j) { byId[j.id] = j; });
    document.querySelectorAll('tr[data-job]').forEach(function (row) {
      var job = byId[row.getAttribute('data-job')];
      if (!job) return;
      var state = row.querySelector('.state');
      state.textContent = job.state;
      state.className = 'state state-' + job.state;
      row.querySelector('.stage').textContent = job.stage || '\\u2014';
      row.setAttribute('data-live', job.state === 'queued' || job.state === 'running' ? '1' : '0');
    });
  }
  function poll() {
    if (liveRows().length === 0) return;
    fetch('/dashboard/jobs.json', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) { if (!res.ok) throw new Error('status ' + res.status); return res.json(); })
      .then(function (body) { update(body.jobs); })
      .catch(function () { /* the next round tries again */ })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  setTimeout(poll, POLL_MS);
})();
`;

/** /job.js: draws the diff from the page's JSON data element with diff2html, side by side or inline. */
export const JOB_SCRIPT = `'use strict';
(function () {
  var data = document.getElementById('diff');
  var target = document.getElementById('diff-view');
  if (!data || !target || !window.Diff2HtmlUI) return;
  var diff = JSON.parse(data.textContent);
  function draw(format) {
    var ui = new window.Diff2HtmlUI(target, diff, {
      outputFormat: format, drawFileList: true, matching: 'lines', highlight: true, fileContentToggle: false,
    });
    ui.draw();
    ui.highlightCode();
    document.querySelectorAll('.toggle button').forEach(function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-format') === format ? 'true' : 'false');
    });
  }
  document.querySelectorAll('.toggle button').forEach(function (b) {
    b.addEventListener('click', function () { draw(b.getAttribute('data-format')); });
  });
  draw('side-by-side');
})();
`;
