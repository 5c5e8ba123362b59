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

/**
 * /job.js: draws the diff from the page's JSON data element with diff2html, side by side or inline;
 * and while the job is queued or running (the page has #live), asks /jobs/{id}/events.json for its
 * news every data-poll-ms: appends the new steps, updates state, stage and progress, and reloads
 * the page when the job ends, which then shows the result.
 */
export const JOB_SCRIPT = `'use strict';
(function () {
  function drawDiff() {
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
  }

  function follow(live) {
    var url = live.getAttribute('data-events');
    var after = Number(live.getAttribute('data-after')) || 0;
    var pollMs = Number(live.getAttribute('data-poll-ms')) || 1000;
    var steps = document.querySelector('#steps tbody');
    var state = document.getElementById('state');
    var stage = document.getElementById('stage');
    var progress = document.getElementById('progress');
    function cell(row, text, className) {
      var td = document.createElement('td');
      td.textContent = text;
      if (className) td.className = className;
      row.appendChild(td);
      return td;
    }
    function addStep(s) {
      var row = document.createElement('tr');
      cell(row, String(s.n), 'num');
      cell(row, String(s.candidate), 'num');
      cell(row, s.tool);
      var code = document.createElement('code');
      code.textContent = s.target;
      cell(row, '').appendChild(code);
      cell(row, s.outcome, s.ok ? '' : 'state-failed');
      cell(row, Number(s.seconds).toFixed(1) + ' s', 'num');
      steps.appendChild(row);
    }
    function show(body) {
      // A retry starts its steps over from 1: the answer then holds them all again.
      if (body.events.length && body.events[0].n <= after) steps.textContent = '';
      body.events.forEach(addStep);
      after = body.next_after;
      state.textContent = body.state;
      state.className = 'state-' + body.state;
      stage.textContent = body.stage || '\\u2014';
      if (progress) { progress.value = body.progress; progress.textContent = body.progress + '%'; }
      if (body.done) { window.location.reload(); return false; }
      return true;
    }
    function poll() {
      fetch(url + '?after=' + after, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (res) { if (!res.ok) throw new Error('status ' + res.status); return res.json(); })
        .then(show)
        .catch(function () { return true; /* the next round tries again */ })
        .then(function (again) { if (again) setTimeout(poll, pollMs); });
    }
    setTimeout(poll, pollMs);
  }

  drawDiff();
  var live = document.getElementById('live');
  if (live && document.querySelector('#steps tbody')) follow(live);
})();
`;
