// The viewer's single page: vanilla JS over the JSON API, inline SVG charts, hash routes
// (#traces, #trace/<id>, #logs, #errors, #error/<group>, #charts). No framework, no external request.
// The script avoids backticks and "${" so that it can live in this template literal.

const STYLE = `
:root { --bg:#fafafa; --fg:#1d2330; --muted:#6b7280; --line:#e5e7eb; --accent:#2563eb; --err:#dc2626; --ok:#16a34a; --warn:#d97706; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:18px; align-items:center; padding:8px 16px; background:#111827; color:#fff; }
header h1 { font-size:15px; margin:0; font-weight:600; }
header nav a { color:#cbd5e1; text-decoration:none; margin-right:12px; padding:4px 6px; border-radius:4px; }
header nav a.active { color:#fff; background:#374151; }
#stats { margin-left:auto; color:#9ca3af; font-size:12px; }
main { padding:12px 16px; }
#services { display:flex; flex-wrap:wrap; gap:8px; margin-bottom:12px; }
.service { border:1px solid var(--line); background:#fff; border-radius:6px; padding:4px 10px; cursor:pointer; }
.service b { font-weight:600; }
.service small { color:var(--muted); margin-left:6px; }
form.filters { display:flex; flex-wrap:wrap; gap:8px; align-items:center; margin-bottom:10px; }
form.filters label { color:var(--muted); }
input, select, button { font:inherit; padding:3px 6px; border:1px solid #d1d5db; border-radius:4px; background:#fff; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f3f4f6; font-weight:600; color:#374151; }
tr.trace-row, tr.span-row, .log-row { cursor:pointer; }
tr.trace-row:hover, tr.span-row:hover { background:#eff6ff; }
tr.span-row.selected { background:#dbeafe; }
.err { color:var(--err); font-weight:600; }
.ok { color:var(--ok); }
.lvl-warn { color:var(--warn); font-weight:600; }
.lvl-error, .lvl-fatal { color:var(--err); font-weight:600; }
.lvl-debug, .lvl-trace { color:var(--muted); }
.muted { color:var(--muted); }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12px; }
.bar-cell { width:45%; }
.bar-track { position:relative; height:14px; background:#f3f4f6; border-radius:2px; }
.bar { position:absolute; top:2px; height:10px; background:var(--accent); border-radius:2px; min-width:2px; }
.bar.error { background:var(--err); }
.detail { background:#fff; border:1px solid var(--line); padding:10px; margin-top:10px; }
.detail h3 { margin:4px 0 8px; font-size:14px; }
.kv td:first-child { color:#374151; white-space:nowrap; width:30%; }
.charts { display:flex; flex-wrap:wrap; gap:12px; }
.chart-box { background:#fff; border:1px solid var(--line); padding:6px 8px; }
.chart-box h4 { margin:0 0 4px; font-size:12px; font-weight:600; }
svg.chart text { font-size:10px; fill:var(--muted); }
.legend span { margin-right:8px; font-size:11px; }
.stack { background:#fff; border:1px solid var(--line); padding:8px; overflow-x:auto; white-space:pre; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12px; }
tr.error-row { cursor:pointer; }
tr.error-row:hover { background:#fef2f2; }
.filter-note { margin-bottom:8px; }
.empty { color:var(--muted); padding:16px; background:#fff; border:1px dashed var(--line); }
a { color:var(--accent); }
h2 { font-size:15px; margin:14px 0 8px; }
`;

const SCRIPT = `
'use strict';
var COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
var app = document.getElementById('app');
var refreshTimer = null;

function esc(s) {
  return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}
function api(path) {
  return fetch(path, { cache: 'no-store' }).then(function (r) {
    if (!r.ok) return r.json().then(function (b) { throw new Error(b.error || ('HTTP ' + r.status)); });
    return r.json();
  });
}
function qs(obj) {
  var parts = [];
  Object.keys(obj).forEach(function (k) { if (obj[k] !== '' && obj[k] != null) parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(obj[k])); });
  return parts.length ? '?' + parts.join('&') : '';
}
function fmtMs(ms) {
  if (ms == null) return '';
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 1000) return ms.toFixed(1) + ' ms';
  return (ms / 1000).toFixed(2) + ' s';
}
function fmtTime(ms) {
  var d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}
function fmtVal(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function parseHash() {
  var h = location.hash.replace(/^#\\/?/, '') || 'traces';
  var q = h.indexOf('?');
  var path = q < 0 ? h : h.slice(0, q);
  var params = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  return { parts: path.split('/'), params: params };
}
function setHashParams(view, params) {
  location.hash = '#' + view + qs(params);
}
function kvTable(obj) {
  var keys = Object.keys(obj || {}).sort();
  if (!keys.length) return '<div class="muted">none</div>';
  return '<table class="kv">' + keys.map(function (k) {
    return '<tr><td class="mono">' + esc(k) + '</td><td class="mono">' + esc(fmtVal(obj[k])) + '</td></tr>';
  }).join('') + '</table>';
}
function serviceOptions(services, selected) {
  return '<option value="">all services</option>' + services.map(function (s) {
    return '<option' + (s.name === selected ? ' selected' : '') + '>' + esc(s.name) + '</option>';
  }).join('');
}

// ------------------------------------------------------------------------------- header
function renderHeader(active) {
  document.querySelectorAll('header nav a').forEach(function (a) {
    a.classList.toggle('active', a.getAttribute('data-view') === active);
  });
  api('/api/stats').then(function (s) {
    document.getElementById('stats').textContent = s.traces + ' traces, ' + s.spans + ' spans, ' + s.logs + ' logs, ' + s.points + ' metric points' +
      (s.errors.groups ? ', ' + s.errors.groups + ' error groups' : '') +
      ', ' + ((s.bytes.spans + s.bytes.logs + s.bytes.points + s.errors.bytes) / 1048576).toFixed(1) + ' of ' + Math.round(s.limits.maxBytes / 1048576) + ' MiB' +
      (s.dropped.spans + s.dropped.logs + s.dropped.points ? ' (oldest dropped: ' + (s.dropped.spans + s.dropped.logs + s.dropped.points) + ')' : '');
  }).catch(function () {});
}
function renderServices(services) {
  var el = document.getElementById('services');
  el.innerHTML = services.length ? services.map(function (s) {
    return '<div class="service" data-service="' + esc(s.name) + '"><b>' + esc(s.name) + '</b><small>' + s.traces + ' traces · ' + s.logs + ' logs · ' + s.series + ' series</small></div>';
  }).join('') : '<div class="muted">No telemetry yet: point OTEL_EXPORTER_OTLP_ENDPOINT at this viewer\\'s OTLP port.</div>';
  el.querySelectorAll('.service').forEach(function (d) {
    d.onclick = function () { setHashParams('traces', { service: d.getAttribute('data-service') }); };
  });
}

// ------------------------------------------------------------------------------- traces
function viewTraces(params) {
  var f = { service: params.get('service') || '', route: params.get('route') || '', status: params.get('status') || '', minMs: params.get('minMs') || '' };
  return api('/api/services').then(function (services) {
    renderServices(services);
    app.innerHTML = '<form class="filters" id="trace-filters">' +
      '<label>service <select name="service">' + serviceOptions(services, f.service) + '</select></label>' +
      '<label>route <input name="route" placeholder="e.g. /orders" value="' + esc(f.route) + '"></label>' +
      '<label>status <select name="status"><option value="">any</option><option value="ok"' + (f.status === 'ok' ? ' selected' : '') + '>ok</option><option value="error"' + (f.status === 'error' ? ' selected' : '') + '>error</option></select></label>' +
      '<label>min duration (ms) <input name="minMs" type="number" min="0" style="width:90px" value="' + esc(f.minMs) + '"></label>' +
      '<button type="submit">Filter</button></form><div id="trace-list"></div>';
    var form = document.getElementById('trace-filters');
    form.onsubmit = function (e) {
      e.preventDefault();
      var d = new FormData(form);
      setHashParams('traces', { service: d.get('service'), route: d.get('route'), status: d.get('status'), minMs: d.get('minMs') });
    };
    form.querySelectorAll('select').forEach(function (s) { s.onchange = function () { form.requestSubmit(); }; });
    var load = function () {
      return api('/api/traces' + qs(f)).then(function (traces) { renderTraceList(traces); });
    };
    refreshTimer = setInterval(load, 5000);
    return load();
  });
}
function renderTraceList(traces) {
  var el = document.getElementById('trace-list');
  if (!el) return;
  if (!traces.length) { el.innerHTML = '<div class="empty">No traces match.</div>'; return; }
  var max = Math.max.apply(null, traces.map(function (t) { return t.durationMs; })) || 1;
  el.innerHTML = '<table><thead><tr><th>time</th><th>service</th><th>trace</th><th>status</th><th>spans</th><th>duration</th><th class="bar-cell"></th></tr></thead><tbody>' +
    traces.map(function (t) {
      var status = t.httpStatus != null ? t.httpStatus : (t.error ? 'error' : 'ok');
      return '<tr class="trace-row" data-trace-id="' + t.traceId + '" data-error="' + t.error + '">' +
        '<td class="mono">' + fmtTime(t.startMs) + '</td><td>' + esc(t.service) + (t.services.length > 1 ? ' <span class="muted">+' + (t.services.length - 1) + '</span>' : '') + '</td>' +
        '<td><span class="trace-name">' + esc(t.rootName) + '</span></td>' +
        '<td class="' + (t.error ? 'err' : 'ok') + '">' + esc(status) + '</td><td>' + t.spanCount + '</td><td class="mono">' + fmtMs(t.durationMs) + '</td>' +
        '<td class="bar-cell"><div class="bar-track"><div class="bar' + (t.error ? ' error' : '') + '" style="left:0;width:' + (100 * t.durationMs / max).toFixed(2) + '%"></div></div></td></tr>';
    }).join('') + '</tbody></table>';
  el.querySelectorAll('tr.trace-row').forEach(function (tr) {
    tr.onclick = function () { location.hash = '#trace/' + tr.getAttribute('data-trace-id'); };
  });
}

// --------------------------------------------------------------------------- one trace
function viewTrace(id, params) {
  return api('/api/traces/' + id).then(function (t) {
    document.getElementById('services').innerHTML = '';
    var total = t.durationMs || 1;
    app.innerHTML = '<h2 id="trace-title">' + esc(t.rootName) + ' <span class="muted mono">' + t.traceId + '</span></h2>' +
      '<div class="muted">' + esc(t.services.join(', ')) + ' · ' + t.spanCount + ' spans · ' + fmtMs(t.durationMs) + ' · ' + (t.error ? '<span class="err">error</span>' : '<span class="ok">ok</span>') + '</div>' +
      '<table id="waterfall" style="margin-top:8px"><thead><tr><th>span</th><th>service</th><th>duration</th><th class="bar-cell">timeline</th></tr></thead><tbody>' +
      t.spans.map(function (s) {
        return '<tr class="span-row" data-span-id="' + s.spanId + '"><td style="padding-left:' + (8 + s.depth * 16) + 'px"><span class="' + (s.error ? 'err' : '') + '">' + esc(s.name) + '</span></td>' +
          '<td>' + esc(s.service) + '</td><td class="mono">' + fmtMs(s.durationMs) + '</td>' +
          '<td class="bar-cell"><div class="bar-track"><div class="bar' + (s.error ? ' error' : '') + '" style="left:' + (100 * s.offsetMs / total).toFixed(2) + '%;width:' + Math.max(0.3, 100 * s.durationMs / total).toFixed(2) + '%"></div></div></td></tr>';
      }).join('') + '</tbody></table><div id="span-detail" class="detail"></div>' +
      '<h2>Logs of this trace</h2><div id="trace-logs"></div>';
    var rows = app.querySelectorAll('tr.span-row');
    var select = function (spanId) {
      var s = t.spans.filter(function (x) { return x.spanId === spanId; })[0] || t.spans[0];
      rows.forEach(function (r) { r.classList.toggle('selected', r.getAttribute('data-span-id') === s.spanId); });
      document.getElementById('span-detail').innerHTML = '<h3>' + esc(s.name) + ' <span class="muted mono">' + s.spanId + '</span></h3>' +
        '<div class="muted">' + esc(s.service) + ' · kind ' + ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][s.kind] + ' · start +' + fmtMs(s.offsetMs) + ' · ' + fmtMs(s.durationMs) +
        (s.status.code === 2 ? ' · <span class="err">error' + (s.status.message ? ': ' + esc(s.status.message) : '') + '</span>' : '') + '</div>' +
        '<h3>Attributes</h3><div id="span-attributes">' + kvTable(s.attributes) + '</div>' +
        '<h3>Events</h3><div id="span-events">' + (s.events.length ? s.events.map(function (e) {
          return '<div class="event"><b>' + esc(e.name) + '</b> <span class="muted">+' + fmtMs(e.timeMs - t.startMs) + '</span>' + kvTable(e.attributes) + '</div>';
        }).join('') : '<div class="muted">none</div>') + '</div>' +
        '<h3>Resource</h3>' + kvTable(s.resource);
    };
    rows.forEach(function (r) { r.onclick = function () { select(r.getAttribute('data-span-id')); }; });
    select(params.get('span') || (t.spans[0] && t.spans[0].spanId));
    renderLogRows(document.getElementById('trace-logs'), t.logs.map(function (l) { l.level = levelOf(l); return l; }), false);
  }).catch(function (e) {
    app.innerHTML = '<div class="empty">' + esc(e.message) + ' (the store keeps only the most recent telemetry)</div>';
  });
}
function levelOf(l) {
  var n = l.severityNumber;
  return n >= 21 ? 'fatal' : n >= 17 ? 'error' : n >= 13 ? 'warn' : n >= 9 ? 'info' : n >= 5 ? 'debug' : n >= 1 ? 'trace' : (l.severityText || 'info').toLowerCase();
}

// --------------------------------------------------------------------------------- logs
function viewLogs(params) {
  var f = { level: params.get('level') || '', service: params.get('service') || '', q: params.get('q') || '', traceId: params.get('traceId') || '' };
  return api('/api/services').then(function (services) {
    renderServices(services);
    // A request's log lines (linked from an error): by trace id, whether or not the trace was sampled.
    app.innerHTML = (f.traceId ? '<div class="filter-note" id="log-trace-filter">log lines of trace <span class="mono">' + esc(f.traceId) + '</span> · <a href="#logs">all logs</a></div>' : '') +
      '<form class="filters" id="log-filters">' +
      '<label>level <select name="level"><option value="">any</option>' + ['debug', 'info', 'warn', 'error', 'fatal'].map(function (l) {
        return '<option' + (l === f.level ? ' selected' : '') + '>' + l + '</option>';
      }).join('') + '</select></label>' +
      '<label>service <select name="service">' + serviceOptions(services, f.service) + '</select></label>' +
      '<label>text <input name="q" value="' + esc(f.q) + '" placeholder="search message and fields"></label>' +
      '<button type="submit">Filter</button></form><div id="log-list"></div>';
    var form = document.getElementById('log-filters');
    form.onsubmit = function (e) {
      e.preventDefault();
      var d = new FormData(form);
      setHashParams('logs', { level: d.get('level'), service: d.get('service'), q: d.get('q'), traceId: f.traceId });
    };
    form.querySelectorAll('select').forEach(function (s) { s.onchange = function () { form.requestSubmit(); }; });
    var load = function () {
      return api('/api/logs' + qs(f)).then(function (logs) { renderLogRows(document.getElementById('log-list'), logs, true); });
    };
    refreshTimer = setInterval(load, 5000);
    return load();
  });
}
function renderLogRows(el, logs, showService) {
  if (!el) return;
  if (!logs.length) { el.innerHTML = '<div class="empty">No log records.</div>'; return; }
  el.innerHTML = '<table><thead><tr><th>time</th><th>level</th>' + (showService ? '<th>service</th>' : '') + '<th>message</th><th>trace</th></tr></thead><tbody>' +
    logs.map(function (l, i) {
      var body = typeof l.body === 'string' ? l.body : JSON.stringify(l.body);
      return '<tr class="log-row" data-i="' + i + '" data-trace-id="' + esc(l.traceId) + '"><td class="mono">' + fmtTime(l.timeMs) + '</td>' +
        '<td class="lvl-' + esc(l.level) + '">' + esc(l.level) + '</td>' + (showService ? '<td>' + esc(l.service) + '</td>' : '') +
        '<td><span class="log-body">' + esc(body) + '</span><div class="log-attrs" style="display:none">' + kvTable(l.attributes) + '</div></td>' +
        '<td>' + (l.traceId ? '<a class="trace-link mono" href="#trace/' + l.traceId + (l.spanId ? '?span=' + l.spanId : '') + '">' + l.traceId.slice(0, 8) + '…</a>' : '<span class="muted">–</span>') + '</td></tr>';
    }).join('') + '</tbody></table>';
  el.querySelectorAll('tr.log-row').forEach(function (tr) {
    tr.onclick = function (e) {
      if (e.target.closest('a')) return;
      var a = tr.querySelector('.log-attrs');
      a.style.display = a.style.display === 'none' ? '' : 'none';
    };
  });
}

// ------------------------------------------------------------------------------- errors
function fmtDateTime(ms) {
  var d = new Date(ms);
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + fmtTime(ms);
}
function traceLinks(e, prefix) {
  var out = [];
  if (e.traceId && e.traceReceived) out.push('<a class="' + prefix + 'trace-link" href="#trace/' + esc(e.traceId) + (e.spanId ? '?span=' + esc(e.spanId) : '') + '">trace</a>');
  if (e.traceId) out.push('<a class="' + prefix + 'logs-link" href="#logs' + qs({ traceId: e.traceId }) + '">logs</a>');
  return out.length ? out.join(' · ') : '<span class="muted">–</span>';
}
function viewErrors(params) {
  var f = { service: params.get('service') || '', q: params.get('q') || '' };
  return api('/api/services').then(function (services) {
    renderServices(services);
    app.innerHTML = '<form class="filters" id="error-filters">' +
      '<label>service <select name="service">' + serviceOptions(services, f.service) + '</select></label>' +
      '<label>text <input name="q" value="' + esc(f.q) + '" placeholder="type, message, route"></label>' +
      '<button type="submit">Filter</button></form><div id="error-list"></div>';
    var form = document.getElementById('error-filters');
    form.onsubmit = function (e) {
      e.preventDefault();
      var d = new FormData(form);
      setHashParams('errors', { service: d.get('service'), q: d.get('q') });
    };
    form.querySelectorAll('select').forEach(function (s) { s.onchange = function () { form.requestSubmit(); }; });
    var load = function () { return api('/api/errors' + qs(f)).then(renderErrorList); };
    refreshTimer = setInterval(load, 5000);
    return load();
  });
}
function renderErrorList(groups) {
  var el = document.getElementById('error-list');
  if (!el) return;
  if (!groups.length) { el.innerHTML = '<div class="empty">No errors received: exception records (otelkit\\'s error tracking) show here, grouped.</div>'; return; }
  el.innerHTML = '<table><thead><tr><th>error</th><th>service</th><th>route</th><th>count</th><th>first seen</th><th>last seen</th><th>latest</th></tr></thead><tbody>' +
    groups.map(function (g) {
      return '<tr class="error-row" data-group="' + esc(g.group) + '" data-service="' + esc(g.service) + '">' +
        '<td><span class="err error-type">' + esc(g.type) + '</span> <span class="error-message">' + esc(g.message) + '</span><div class="muted mono">' + esc(g.group) + '</div></td>' +
        '<td>' + esc(g.service) + '</td><td class="mono">' + esc(g.route) + '</td>' +
        '<td class="error-count">' + g.count + (g.suppressed ? ' <span class="muted">(' + g.records + ' sent)</span>' : '') + '</td>' +
        '<td class="mono">' + fmtDateTime(g.firstSeenMs) + '</td><td class="mono">' + fmtDateTime(g.lastSeenMs) + '</td>' +
        '<td>' + traceLinks(g, '') + '</td></tr>';
    }).join('') + '</tbody></table>';
  el.querySelectorAll('tr.error-row').forEach(function (tr) {
    tr.onclick = function (e) {
      if (e.target.closest('a')) return;
      location.hash = '#error/' + encodeURIComponent(tr.getAttribute('data-group')) + qs({ service: tr.getAttribute('data-service') });
    };
  });
}
function viewError(group, params) {
  return api('/api/errors/' + encodeURIComponent(group) + qs({ service: params.get('service') || '' })).then(function (g) {
    document.getElementById('services').innerHTML = '';
    app.innerHTML = '<h2 id="error-title"><span class="err">' + esc(g.type) + '</span> ' + esc(g.message) + '</h2>' +
      '<div class="muted" id="error-meta">' + esc(g.service) + ' · group <span class="mono">' + esc(g.group) + '</span> · <span id="error-count">' + g.count + '</span> occurrences' +
      (g.suppressed ? ' (' + g.records + ' sent, ' + g.suppressed + ' counted only)' : '') +
      ' · first seen <span id="error-first">' + fmtDateTime(g.firstSeenMs) + '</span> · last seen <span id="error-last">' + fmtDateTime(g.lastSeenMs) + '</span></div>' +
      '<h3>Latest occurrence' + (g.route ? ' <span class="muted mono">' + esc(g.route) + '</span>' : '') + '</h3>' +
      '<div id="error-links">' + traceLinks(g, 'error-') + (g.traceId && !g.traceReceived ? ' <span class="muted">(its trace was not received: not sampled, or dropped)</span>' : '') + '</div>' +
      '<h3>Stack</h3><pre class="stack" id="error-stack">' + esc(g.stacktrace || '(no stack)') + '</pre>' +
      '<h3>Attributes</h3><div id="error-attributes">' + kvTable(g.attributes) + '</div>' +
      '<h3>Recent occurrences</h3><div id="error-occurrences">' + (g.occurrences.length ? '<table><thead><tr><th>time</th><th>message</th><th></th></tr></thead><tbody>' +
        g.occurrences.map(function (o) {
          return '<tr><td class="mono">' + fmtDateTime(o.timeMs) + '</td><td>' + esc(o.message) + '</td><td>' + traceLinks(o, '') + '</td></tr>';
        }).join('') + '</tbody></table>' : '<div class="muted">none left in the log store</div>') + '</div>';
  }).catch(function (e) {
    app.innerHTML = '<div class="empty">' + esc(e.message) + ' (the viewer keeps a bounded number of groups)</div>';
  });
}

// ------------------------------------------------------------------------------- charts
function svgEl(tag, attrs) {
  var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  return e;
}
function fmtAxis(v, unit) {
  if (unit === '%') return (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%';
  if (unit === 'By') return v >= 1048576 ? (v / 1048576).toFixed(1) + ' MiB' : v >= 1024 ? (v / 1024).toFixed(0) + ' KiB' : v.toFixed(0) + ' B';
  if (unit === 's') return v < 1 ? (v * 1000).toPrecision(3) + ' ms' : v.toPrecision(3) + ' s';
  if (Math.abs(v) >= 1000) return v.toFixed(0) + (unit ? ' ' + unit : '');
  return (+v.toPrecision(3)) + (unit ? ' ' + unit : '');
}
/** series: [{name, points: [[t, v], ...]}] */
function lineChart(title, series, unit, opts) {
  opts = opts || {};
  var W = 380, H = 150, L = 56, R = 8, T = 8, B = 20;
  var box = document.createElement('div');
  box.className = 'chart-box';
  box.setAttribute('data-chart', title);
  box.innerHTML = '<h4>' + esc(title) + '</h4>';
  var svg = svgEl('svg', { width: W, height: H, 'class': 'chart', viewBox: '0 0 ' + W + ' ' + H });
  var pts = [];
  series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] != null && isFinite(p[1])) pts.push(p); }); });
  var tMin = opts.from != null ? opts.from : Math.min.apply(null, pts.map(function (p) { return p[0]; }));
  var tMax = opts.to != null ? opts.to : Math.max.apply(null, pts.map(function (p) { return p[0]; }));
  if (!isFinite(tMin) || !isFinite(tMax)) { tMax = Date.now(); tMin = tMax - 60000; }
  if (!(tMax > tMin)) { tMin = tMin - 30000; tMax = tMin + 60000; }
  var vMax = Math.max.apply(null, [0].concat(pts.map(function (p) { return p[1]; })));
  if (opts.max != null) vMax = Math.max(vMax, opts.max);
  if (!(vMax > 0)) vMax = 1;
  var x = function (t) { return L + (W - L - R) * (t - tMin) / (tMax - tMin); };
  var y = function (v) { return T + (H - T - B) * (1 - v / vMax); };
  svg.appendChild(svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#d1d5db' }));
  svg.appendChild(svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#d1d5db' }));
  [0, 0.5, 1].forEach(function (f) {
    var t = svgEl('text', { x: L - 4, y: y(vMax * f) + 3, 'text-anchor': 'end' });
    t.textContent = fmtAxis(vMax * f, unit);
    svg.appendChild(t);
  });
  var tl = svgEl('text', { x: L, y: H - 6 }); tl.textContent = new Date(tMin).toLocaleTimeString([], { hour12: false }); svg.appendChild(tl);
  var tr = svgEl('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }); tr.textContent = new Date(tMax).toLocaleTimeString([], { hour12: false }); svg.appendChild(tr);
  var legend = document.createElement('div');
  legend.className = 'legend';
  series.slice(0, COLORS.length).forEach(function (s, i) {
    var d = '';
    var pen = false;
    s.points.forEach(function (p) {
      if (p[1] == null || !isFinite(p[1])) { pen = false; return; }
      d += (pen ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1) + ' ';
      pen = true;
    });
    if (d) svg.appendChild(svgEl('path', { d: d, fill: 'none', stroke: COLORS[i], 'stroke-width': 1.6, 'class': 'line' }));
    s.points.forEach(function (p) {
      if (p[1] != null && isFinite(p[1])) svg.appendChild(svgEl('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 1.8, fill: COLORS[i], 'class': 'dot' }));
    });
    if (series.length > 1 || s.name) legend.innerHTML += '<span style="color:' + COLORS[i] + '">■ ' + esc(s.name) + '</span>';
  });
  if (!pts.length) {
    var nt = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }); nt.textContent = 'no data yet'; svg.appendChild(nt);
  }
  box.appendChild(svg);
  box.appendChild(legend);
  return box;
}
var RUNTIME = [
  ['nodejs.eventloop.delay.p99', 'event loop delay p99'],
  ['nodejs.eventloop.utilization', 'event loop utilization'],
  ['v8js.memory.heap.used', 'heap used'],
  ['v8js.gc.duration', 'GC pause (mean)'],
  ['process.cpu.utilization', 'process CPU'],
  ['process.memory.usage', 'process memory (RSS)'],
];
function viewCharts(params) {
  var service = params.get('service') || '';
  return api('/api/services').then(function (services) {
    renderServices(services);
    app.innerHTML = '<form class="filters" id="chart-filters"><label>service <select name="service">' + serviceOptions(services, service) + '</select></label></form>' +
      '<h2>Requests per route</h2><div id="route-charts"></div><h2>Runtime</h2><div id="runtime-charts" class="charts"></div>';
    var sel = document.querySelector('#chart-filters select');
    sel.onchange = function () { setHashParams('charts', { service: sel.value }); };
    var load = function () { return Promise.all([loadRouteCharts(service), loadRuntimeCharts(service, services)]); };
    refreshTimer = setInterval(load, 10000);
    return load();
  });
}
function loadRouteCharts(service) {
  return api('/api/metrics/routes' + qs({ service: service, windowMin: 15, stepSec: 5 })).then(function (r) {
    var el = document.getElementById('route-charts');
    if (!el) return;
    el.innerHTML = '';
    if (!r.routes.length) { el.innerHTML = '<div class="empty">No server requests in the last 15 minutes.</div>'; return; }
    r.routes.slice(0, 12).forEach(function (route) {
      var h = document.createElement('h2');
      h.className = 'route-title';
      h.innerHTML = esc(route.route) + ' <span class="muted">' + esc(route.service) + ' · ' + route.total + ' requests · ' + route.errors + ' errors · p50 ' + fmtMs(route.p50) + ' · p95 ' + fmtMs(route.p95) + ' · p99 ' + fmtMs(route.p99) + '</span>';
      var row = document.createElement('div');
      row.className = 'charts route-charts';
      var pick = function (k) { return route.series.map(function (p) { return [p.t + r.stepMs, p[k]]; }); };
      var range = { from: r.from + r.stepMs, to: r.to };
      row.appendChild(lineChart('request rate', [{ name: 'req/s', points: pick('rate') }], '/s', range));
      row.appendChild(lineChart('error ratio', [{ name: 'errors', points: pick('errorRatio') }], '%', Object.assign({ max: 0.05 }, range)));
      row.appendChild(lineChart('latency', [{ name: 'p50', points: pick('p50') }, { name: 'p95', points: pick('p95') }, { name: 'p99', points: pick('p99') }], 'ms', range));
      el.appendChild(h);
      el.appendChild(row);
    });
  });
}
function loadRuntimeCharts(service, services) {
  return api('/api/metrics' + qs({ service: service })).then(function (names) {
    var el = document.getElementById('runtime-charts');
    if (!el) return;
    var have = {};
    names.forEach(function (m) { have[m.name] = true; });
    var wanted = RUNTIME.filter(function (r) { return have[r[0]]; });
    if (!wanted.length) { el.innerHTML = '<div class="empty">No runtime metrics received: export metrics over OTLP (OTEL_METRICS_EXPORTER=prometheus,otlp).</div>'; return; }
    return Promise.all(wanted.map(function (r) { return api('/api/metrics/series' + qs({ name: r[0], service: service })); })).then(function (answers) {
      el.innerHTML = '';
      answers.forEach(function (a, i) {
        // One line per service: attribute sets (heap spaces, GC kinds) are summed or averaged.
        var byService = {};
        a.series.forEach(function (s) {
          var m = byService[s.service] = byService[s.service] || {};
          s.points.forEach(function (p) {
            var k = Math.round(p[0] / 1000) * 1000;
            m[k] = m[k] || { sum: 0, n: 0 };
            m[k].sum += p[1]; m[k].n += 1;
          });
        });
        var avg = a.kind !== 'value' || a.name.indexOf('delay') >= 0 || a.name.indexOf('utilization') >= 0;
        var series = Object.keys(byService).sort().map(function (svc) {
          var m = byService[svc];
          return { name: svc, points: Object.keys(m).map(Number).sort().map(function (t) { return [t, avg ? m[t].sum / m[t].n : m[t].sum]; }) };
        });
        var unit = a.unit === '1' ? '%' : a.unit;
        el.appendChild(lineChart(wanted[i][1] + (a.kind === 'rate' ? ' (/s)' : ''), series, unit));
      });
    });
  });
}

// ------------------------------------------------------------------------------- router
function route() {
  if (refreshTimer) { clearInterval(refreshTimer); refreshTimer = null; }
  var h = parseHash();
  var view = h.parts[0];
  renderHeader(view === 'trace' ? 'traces' : view === 'error' ? 'errors' : view);
  var p;
  if (view === 'trace' && h.parts[1]) p = viewTrace(h.parts[1], h.params);
  else if (view === 'logs') p = viewLogs(h.params);
  else if (view === 'errors') p = viewErrors(h.params);
  else if (view === 'error' && h.parts[1]) p = viewError(decodeURIComponent(h.parts[1]), h.params);
  else if (view === 'charts') p = viewCharts(h.params);
  else p = viewTraces(h.params);
  Promise.resolve(p).then(function () { document.body.setAttribute('data-ready', view); }, function (e) {
    app.innerHTML = '<div class="empty">' + esc(e.message) + '</div>';
  });
}
window.addEventListener('hashchange', function () { document.body.removeAttribute('data-ready'); route(); });
route();
`;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>otelkit dev</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>otelkit dev</h1>
  <nav><a href="#traces" data-view="traces">Traces</a><a href="#logs" data-view="logs">Logs</a><a href="#errors" data-view="errors">Errors</a><a href="#charts" data-view="charts">Charts</a></nav>
  <span id="stats"></span>
</header>
<main>
  <div id="services"></div>
  <div id="app"></div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
