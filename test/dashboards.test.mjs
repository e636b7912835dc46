// Grafana provisioning (deploy/grafana), dashboards and alerting rules (deploy/prometheus/rules),
// checked without Docker.
//
// 1. Static: datasources have fixed, unique UIDs and link the signals both ways (trace -> logs,
//    log line -> trace by trace_id, metric exemplars -> trace); every dashboard JSON is
//    schema-checked (panels, grid, targets, datasource UIDs that are provisioned, a `service`
//    variable); the panels the stack promises exist. LogQL and TraceQL queries are checked
//    STRUCTURALLY ONLY (balanced, a stream selector on service_name, well-formed matchers and
//    label filters): no Loki or Tempo runs here (both exist only as images).
// 2. End to end: the real orders and payment services (examples/, in-memory store and cache) run
//    under `--import otelkit/register`, sending traces and logs to the REAL collector binary with
//    collector/config.yaml (its Tempo and Loki replaced by in-test OTLP stand-ins); a REAL
//    Prometheus (Debian's binary) runs deploy/prometheus/prometheus.yml with the rules, its
//    targets rewritten to the loopback ports and a 1 s scrape interval. Traffic includes 5xx
//    (declined payments), 404s, error logs and a phase where the backends reject data, so the
//    collector's failure counters exist. Then EVERY PromQL expression of the dashboards (panel
//    targets and variable queries) and of the rules is run and must return data:
//      - Grafana variables are substituted: $service -> orders-service, $__rate_interval -> 1m,
//        $__interval -> 30s, $__range -> 5m;
//      - an expression ending in a comparison with a number (`LHS > 0.05`, `up == 0`: alert
//        conditions that are legitimately empty while all is well) is run as LHS;
//      - each metric selector in the expression must match series on its own (a misspelt metric
//        or label matcher fails, even inside `or`), each label of by/without/on/ignoring must
//        exist on those series, and each {{label}} of a legend must be on the result.
//    The rules must also load and evaluate without error in that Prometheus, and the span
//    metrics' exemplars must carry the trace_id of a trace the Tempo stand-in received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { ROOT, freePort, startApp } from './support/app.mjs';
import { COLLECTOR_BIN, startBackends, startCollector } from './support/collector.mjs';
import { prometheusAvailable, startPrometheus } from './support/prometheus.mjs';

const DEPLOY = path.join(ROOT, 'deploy');
const DASHBOARD_DIR = path.join(DEPLOY, 'grafana/dashboards');
const DATASOURCES_FILE = path.join(DEPLOY, 'grafana/provisioning/datasources/datasources.yaml');
const PROMETHEUS_CONFIG = path.join(DEPLOY, 'prometheus/prometheus.yml');
const RULES_DIR = path.join(DEPLOY, 'prometheus/rules');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------ loading

function loadDatasources() {
  const doc = YAML.parse(readFileSync(DATASOURCES_FILE, 'utf8'));
  return doc.datasources;
}

function loadDashboards() {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) }));
}

/** Panels, rows' nested panels included. */
function allPanels(dash) {
  const out = [];
  for (const p of dash.panels ?? []) {
    out.push(p);
    for (const q of p.panels ?? []) out.push(q);
  }
  return out;
}

/** Every query of a dashboard: { where, type (datasource type), expr, legend, exemplar }. */
function dashboardQueries({ file, json }, dsByUid) {
  const out = [];
  for (const panel of allPanels(json)) {
    if (panel.type === 'row') continue;
    for (const t of panel.targets ?? []) {
      const uid = (t.datasource ?? panel.datasource)?.uid;
      const type = dsByUid.get(uid)?.type;
      out.push({
        where: `${file} panel "${panel.title}" ${t.refId}`,
        type,
        expr: type === 'tempo' ? t.query : t.expr,
        legend: t.legendFormat,
        exemplar: t.exemplar === true,
      });
    }
  }
  for (const v of json.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    out.push({ where: `${file} variable $${v.name}`, type: dsByUid.get(v.datasource?.uid)?.type, expr: q, variable: v.name });
  }
  return out;
}

function ruleExpressions() {
  const out = [];
  for (const file of readdirSync(RULES_DIR).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = YAML.parse(readFileSync(path.join(RULES_DIR, file), 'utf8'));
    for (const g of doc.groups) {
      for (const r of g.rules) out.push({ where: `rules/${file} ${r.alert ?? r.record}`, type: 'prometheus', expr: r.expr });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ PromQL helpers

// Values the test gives Grafana's variables.
const GRAFANA_VARS = {
  service: 'orders-service',
  __rate_interval: '1m',
  __interval: '30s',
  __range: '5m',
  __range_s: '300',
  __interval_ms: '30000',
};

function substituteVars(expr) {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (m, a, b) => {
    const name = a ?? b;
    if (!(name in GRAFANA_VARS)) throw new Error(`unknown Grafana variable ${m} in ${expr}`);
    return GRAFANA_VARS[name];
  });
}

/**
 * `LHS <op> <number>` -> LHS. Alert conditions (and thresholds written in panels) are empty while
 * nothing is wrong; their left-hand side must still return data. Anything else is unchanged.
 */
export function stripThreshold(expr) {
  return expr.trim().replace(/\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i, '').trim();
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan', 'atan2', 'start', 'end']);
// Aggregation operators: `sum by (x) (...)` puts the clause between the name and its parenthesis.
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

/**
 * A small PromQL scanner (enough for these expressions): the vector selectors
 * (`metric{...}`, `metric`, `{__name__=...}`) and the label names of grouping/matching clauses.
 */
export function analyzePromQL(s) {
  const selectors = [];
  const labels = new Set();
  const skipString = (j) => {
    const q = s[j];
    let k = j + 1;
    while (k < s.length && s[k] !== q) {
      if (s[k] === '\\' && q !== '`') k += 1;
      k += 1;
    }
    return k + 1;
  };
  const closing = (j, open, close) => {
    let k = j + 1;
    while (k < s.length && s[k] !== close) {
      if (s[k] === '"' || s[k] === "'" || s[k] === '`') k = skipString(k);
      else k += 1;
    }
    if (s[k] !== close) throw new Error(`unbalanced ${open} in ${s}`);
    return k + 1;
  };
  const skipWs = (j) => {
    while (j < s.length && /\s/.test(s[j])) j += 1;
    return j;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '"' || c === "'" || c === '`') { i = skipString(i); continue; }
    if (c === '#') { while (i < s.length && s[i] !== '\n') i += 1; continue; }
    if (c === '[') { i = closing(i, '[', ']'); continue; }
    if (c === '{') { const end = closing(i, '{', '}'); selectors.push(s.slice(i, end)); i = end; continue; }
    if (/[0-9.]/.test(c)) { while (i < s.length && /[0-9a-zA-Z._]/.test(s[i])) i += 1; continue; }
    if (/[A-Za-z_:]/.test(c)) {
      let j = i;
      while (j < s.length && /[A-Za-z0-9_:]/.test(s[j])) j += 1;
      const word = s.slice(i, j);
      const k = skipWs(j);
      const lower = word.toLowerCase();
      if (GROUPING.has(lower)) {
        if (s[k] === '(') {
          const end = closing(k, '(', ')');
          for (const l of s.slice(k + 1, end - 1).split(',').map((x) => x.trim()).filter(Boolean)) labels.add(l);
          i = end;
        } else {
          i = j;
        }
        continue;
      }
      if (s[k] === '(' || KEYWORDS.has(lower) || AGGREGATIONS.has(lower)) { i = j; continue; }
      if (s[k] === '{') {
        const end = closing(k, '{', '}');
        selectors.push(word + s.slice(k, end));
        i = end;
      } else {
        selectors.push(word);
        i = j;
      }
      continue;
    }
    i += 1;
  }
  return { selectors, labels: [...labels] };
}

function legendLabels(legend) {
  return [...String(legend ?? '').matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]);
}

/** Runs one PromQL check; -> list of problems (empty when it passes). */
async function checkPromQL(prom, q) {
  const problems = [];
  let expr;
  if (q.variable) {
    // label_values(selector, label): the selector must match series carrying the label.
    const m = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/s.exec(q.expr.trim());
    if (!m) return [`unsupported variable query ${q.expr}`];
    const series = await prom.series(m[1]);
    const values = new Set(series.map((s) => s[m[2]]).filter(Boolean));
    if (values.size === 0) problems.push(`${q.expr}: no series of ${m[1]} carries the label ${m[2]}`);
    else if (!values.has(GRAFANA_VARS[q.variable] ?? GRAFANA_VARS.service)) problems.push(`${q.expr}: values ${[...values]} lack ${GRAFANA_VARS.service}`);
    return problems;
  }
  try {
    expr = stripThreshold(substituteVars(q.expr));
  } catch (err) {
    return [err.message];
  }
  const raw = await prom.queryRaw(expr);
  if (raw.status !== 'success') return [`${expr}: ${raw.errorType}: ${raw.error}`];
  const result = raw.data.resultType === 'vector' || raw.data.resultType === 'matrix' ? raw.data.result : [{ metric: {} }];
  if (result.length === 0) problems.push(`${expr}: empty result`);
  const { selectors, labels } = analyzePromQL(expr);
  if (selectors.length === 0) problems.push(`${expr}: no metric selector found`);
  const seen = new Set();
  for (const sel of selectors) {
    const series = await prom.series(sel);
    if (series.length === 0) problems.push(`${expr}: selector ${sel} matches no series (unknown metric or label?)`);
    for (const s of series) for (const k of Object.keys(s)) seen.add(k);
  }
  for (const l of labels) {
    if (!seen.has(l)) problems.push(`${expr}: label "${l}" (by/on/without/ignoring) is on none of the selected series`);
  }
  for (const l of legendLabels(q.legend)) {
    if (result.length > 0 && !result.some((r) => r.metric && l in r.metric)) problems.push(`${expr}: legend label {{${l}}} is on no result series`);
  }
  return problems;
}

// ------------------------------------------------------------------------------ LogQL / TraceQL (structural)

function balanced(s) {
  const pairs = { '(': ')', '[': ']', '{': '}' };
  const stack = [];
  for (let i = 0; i < s.length; i += 1) {
    const c = s[i];
    if (c === '"' || c === '`') {
      const q = c;
      i += 1;
      while (i < s.length && s[i] !== q) {
        if (s[i] === '\\' && q === '"') i += 1;
        i += 1;
      }
      if (i >= s.length) return false;
      continue;
    }
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return false;
    }
  }
  return stack.length === 0;
}

const MATCHER = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*$/;

/** A LogQL pipeline split into its stages (`| ...`, `|= "..."`, `!~ "..."`), quotes respected. */
function splitStages(pipeline) {
  const stages = [];
  let cur = null;
  for (let i = 0; i < pipeline.length; i += 1) {
    const c = pipeline[i];
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < pipeline.length && pipeline[j] !== c) j += c === '"' && pipeline[j] === '\\' ? 2 : 1;
      if (cur !== null) cur += pipeline.slice(i, j + 1);
      i = j;
      continue;
    }
    // `!=` / `!~` open a line filter stage, unless they are the operator of a label filter.
    if (c === '|' || (c === '!' && /[=~]/.test(pipeline[i + 1] ?? '') && (cur === null || /"\s*$/.test(cur)))) {
      if (cur !== null) stages.push(cur.trim());
      cur = c;
      continue;
    }
    if (cur !== null) cur += c;
  }
  if (cur !== null) stages.push(cur.trim());
  return stages.map((st) => st.replace(/^(\|)\s+/, '$1 '));
}

/** Structural LogQL check; -> problems. */
export function checkLogQL(expr) {
  const problems = [];
  if (!balanced(expr)) problems.push('unbalanced brackets or quotes');
  const sel = /\{([^{}]*)\}/.exec(expr);
  if (!sel) return [...problems, 'no stream selector {...}'];
  const matchers = sel[1].split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
  for (const m of matchers) if (!MATCHER.test(m)) problems.push(`bad stream matcher: ${m.trim()}`);
  if (!/\bservice_name\s*(=|=~)/.test(sel[1])) problems.push('the stream selector does not select service_name');
  if (matchers.every((m) => /(=~|!~|!=)\s*"(\.\*)?"/.test(m) || /=\s*""/.test(m))) problems.push('every matcher matches the empty string');
  // Pipeline stages after the selector: line filters (|= != |~ !~ "..."), label filters
  // (| name op "value"), parsers (| json, | logfmt), up to a range [..] or the end.
  const after = expr.slice(sel.index + sel[0].length);
  const pipeline = after.split(/\[[^\]]*\]/)[0];
  const stages = splitStages(pipeline);
  for (const st of stages) {
    if (/^(\|=|!=|\|~|!~)/.test(st)) {
      if (!/^(\|=|!=|\|~|!~)\s*"(?:[^"\\]|\\.)*"\s*$/.test(st)) problems.push(`bad line filter: ${st}`);
      continue;
    }
    const body = st.slice(1).trim();
    if (/^(json|logfmt|unpack|pattern\s+".*"|regexp\s+".*"|line_format\s+".*"|label_format\s+.+|drop\s+.+|keep\s+.+|decolorize)$/.test(body)) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*\s*(=|!=|=~|!~|>|>=|<|<=)\s*("(?:[^"\\]|\\.)*"|[0-9.]+[a-zA-Z]*)\s*\)?$/.test(body)) problems.push(`bad label filter: ${st}`);
  }
  const isMetric = /^\s*(sum|count|avg|min|max|topk|bottomk|rate|count_over_time|bytes_over_time|bytes_rate|sum_over_time|avg_over_time|quantile_over_time|absent_over_time)\b/.test(expr);
  if (isMetric && !/\[\s*(\$__\w+|\d+[smhd])\s*\]/.test(expr)) problems.push('a metric query needs a range [..]');
  for (const m of expr.matchAll(/=~\s*"((?:[^"\\]|\\.)*)"/g)) {
    try {
      new RegExp(m[1].replace(/^\(\?i\)/, '').replace(/\\\\/g, '\\'));
    } catch (err) {
      problems.push(`bad regular expression ${m[1]}: ${err.message}`);
    }
  }
  return problems;
}

/** Structural TraceQL check; -> problems. */
export function checkTraceQL(q) {
  const problems = [];
  if (!balanced(q)) problems.push('unbalanced brackets or quotes');
  const spansets = [...q.matchAll(/\{([^{}]*)\}/g)];
  if (spansets.length === 0) return [...problems, 'no spanset {...}'];
  for (const [, body] of spansets) {
    for (const cond of body.split(/&&|\|\|/)) {
      const c = cond.trim().replace(/^\(+|\)+$/g, '');
      if (!/^(resource|span|event|link|instrumentation)?\.[\w.]+\s*(=|!=|=~|!~|>|>=|<|<=)\s*("(?:[^"\\]|\\.)*"|[\w.]+)$|^(status|kind|name|duration|statusMessage|rootName|rootServiceName|traceDuration)\s*(=|!=|=~|!~|>|>=|<|<=)\s*("(?:[^"\\]|\\.)*"|[\w.]+)$/.test(c)) {
        problems.push(`bad condition: ${c}`);
      }
    }
  }
  if (!/resource\.service\.name\s*=/.test(q)) problems.push('does not select resource.service.name');
  return problems;
}

// ------------------------------------------------------------------------------ static checks

const PANEL_TYPES = new Set(['timeseries', 'stat', 'gauge', 'bargauge', 'barchart', 'table', 'logs', 'text', 'row', 'heatmap', 'piechart', 'traces', 'nodeGraph', 'state-timeline', 'histogram']);

test('datasources: fixed unique UIDs, the backends of the compose stack, signals linked both ways', () => {
  const ds = loadDatasources();
  const byUid = new Map(ds.map((d) => [d.uid, d]));
  assert.equal(byUid.size, ds.length, 'datasource UIDs are unique');
  for (const d of ds) assert.match(d.uid ?? '', /^[a-z][a-z0-9-]{1,39}$/, `${d.name}: fixed UID`);
  const byType = (t) => {
    const found = ds.filter((d) => d.type === t);
    assert.equal(found.length, 1, `one ${t} datasource`);
    return found[0];
  };
  const prom = byType('prometheus');
  const tempo = byType('tempo');
  const loki = byType('loki');
  const am = byType('alertmanager');
  assert.equal(prom.url, 'http://prometheus:9090');
  assert.equal(tempo.url, 'http://tempo:3200');
  assert.equal(loki.url, 'http://loki:3100');
  assert.equal(am.url, 'http://alertmanager:9093');
  assert.equal(prom.isDefault, true);

  // metric exemplar -> trace
  const ex = prom.jsonData.exemplarTraceIdDestinations;
  assert.ok(ex.some((e) => e.name === 'trace_id' && e.datasourceUid === tempo.uid), 'Prometheus exemplars (trace_id) open Tempo');
  // trace -> logs
  const t2l = tempo.jsonData.tracesToLogsV2;
  assert.equal(t2l.datasourceUid, loki.uid, 'Tempo links to Loki');
  assert.equal(t2l.filterByTraceID, true, 'trace -> logs filters by the trace id');
  assert.ok(t2l.tags.some((t) => t.key === 'service.name' && t.value === 'service_name'), 'service.name maps to the Loki label service_name');
  // trace -> metrics: the Prometheus label is `service` (static label of the scrape config)
  assert.equal(tempo.jsonData.tracesToMetrics.datasourceUid, prom.uid);
  assert.ok(tempo.jsonData.tracesToMetrics.tags.some((t) => t.key === 'service.name' && t.value === 'service'));
  // log line -> trace, on the trace_id structured metadata Loki keeps from OTLP
  const df = loki.jsonData.derivedFields;
  assert.ok(df.some((f) => f.matcherType === 'label' && f.matcherRegex === 'trace_id' && f.datasourceUid === tempo.uid), 'Loki trace_id opens Tempo');
  // Grafana expands $VAR in provisioning files: literal $ must be written $$.
  const raw = readFileSync(DATASOURCES_FILE, 'utf8');
  for (const line of raw.split('\n').filter((l) => !l.trimStart().startsWith('#'))) {
    for (const m of line.matchAll(/\$+/g)) {
      assert.equal(m[0].length % 2, 0, `unescaped $ (write $$) in: ${line.trim()}`);
    }
  }
  assert.equal(df.find((f) => f.matcherRegex === 'trace_id').url, '$${__value.raw}');
});

test('dashboards: valid JSON model, provisioned datasource UIDs, a service variable, no overlapping panels', () => {
  const ds = loadDatasources();
  const dsByUid = new Map(ds.map((d) => [d.uid, d]));
  const dashboards = loadDashboards();
  assert.deepEqual(dashboards.map((d) => d.json.title).sort(), ['Node service', 'Telemetry pipeline']);
  const uids = new Set();
  for (const { file, json } of dashboards) {
    assert.match(json.uid ?? '', /^[A-Za-z0-9_-]{1,40}$/, `${file}: uid`);
    assert.ok(!uids.has(json.uid), `${file}: uid is unique`);
    uids.add(json.uid);
    assert.equal(typeof json.schemaVersion, 'number', `${file}: schemaVersion`);
    assert.ok(json.schemaVersion >= 36, `${file}: schemaVersion >= 36`);
    assert.ok(json.id === undefined || json.id === null, `${file}: no instance-specific id`);
    assert.ok(Array.isArray(json.panels) && json.panels.length > 0, `${file}: panels`);

    const service = json.templating.list.find((v) => v.name === 'service');
    assert.ok(service, `${file}: a $service variable`);
    assert.equal(service.type, 'query');
    assert.equal(dsByUid.get(service.datasource?.uid)?.type, 'prometheus', `${file}: $service comes from Prometheus`);
    for (const v of json.templating.list) {
      if (v.datasource) assert.ok(dsByUid.has(v.datasource.uid), `${file}: variable ${v.name} datasource ${v.datasource.uid} is provisioned`);
    }

    const ids = new Set();
    const cells = new Map();
    for (const p of allPanels(json)) {
      const where = `${file} panel ${p.id} "${p.title}"`;
      assert.ok(Number.isInteger(p.id) && p.id > 0, `${where}: integer id`);
      assert.ok(!ids.has(p.id), `${where}: unique id`);
      ids.add(p.id);
      assert.ok(PANEL_TYPES.has(p.type), `${where}: known panel type ${p.type}`);
      assert.ok(typeof p.title === 'string' && p.title.trim(), `${where}: title`);
      const g = p.gridPos;
      assert.ok(g && [g.x, g.y, g.w, g.h].every(Number.isInteger), `${where}: gridPos`);
      assert.ok(g.x >= 0 && g.w >= 1 && g.x + g.w <= 24 && g.h >= 1 && g.y >= 0, `${where}: gridPos within the 24-column grid`);
      for (let x = g.x; x < g.x + g.w; x += 1) {
        for (let y = g.y; y < g.y + g.h; y += 1) {
          const k = `${x},${y}`;
          assert.ok(!cells.has(k), `${where} overlaps panel ${cells.get(k)}`);
          cells.set(k, p.id);
        }
      }
      if (p.type === 'row' || p.type === 'text') continue;
      assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${where}: targets`);
      const refs = new Set();
      for (const t of p.targets) {
        assert.match(t.refId ?? '', /^[A-Z]$/, `${where}: refId`);
        assert.ok(!refs.has(t.refId), `${where}: unique refId ${t.refId}`);
        refs.add(t.refId);
        const dsRef = t.datasource ?? p.datasource;
        assert.ok(dsRef?.uid, `${where} ${t.refId}: datasource`);
        const d = dsByUid.get(dsRef.uid);
        assert.ok(d, `${where} ${t.refId}: datasource uid "${dsRef.uid}" is provisioned`);
        assert.equal(dsRef.type, d.type, `${where} ${t.refId}: datasource type matches the provisioned one`);
        if (d.type === 'prometheus' || d.type === 'loki') assert.ok(t.expr?.trim(), `${where} ${t.refId}: expr`);
        if (d.type === 'tempo') {
          assert.equal(t.queryType, 'traceql', `${where} ${t.refId}: TraceQL`);
          assert.ok(t.query?.trim(), `${where} ${t.refId}: query`);
        }
      }
      if (p.type === 'logs') assert.ok(p.targets.every((t) => dsByUid.get((t.datasource ?? p.datasource).uid).type === 'loki'), `${where}: logs from Loki`);
    }
  }
});

test('dashboards: the panels the stack promises', () => {
  const dsByUid = new Map(loadDatasources().map((d) => [d.uid, d]));
  const dashboards = loadDashboards();
  const exprs = (title) => dashboardQueries(dashboards.find((d) => d.json.title === title), dsByUid);
  const node = exprs('Node service');
  const has = (qs, type, re, what) => assert.ok(qs.some((q) => q.type === type && re.test(q.expr)), `missing: ${what}`);
  has(node, 'prometheus', /sum by \(http_route\) \(rate\(http_server_request_duration_seconds_count/, 'request rate by route');
  has(node, 'prometheus', /http_response_status_code=~"5\.\."/, 'error ratio (5xx)');
  for (const qn of ['0.50', '0.95', '0.99']) has(node, 'prometheus', new RegExp(`histogram_quantile\\(${qn}, sum by \\(le, http_route\\) \\(rate\\(http_server_request_duration_seconds_bucket`), `latency p${qn.slice(2)} by route`);
  has(node, 'prometheus', /nodejs_eventloop_delay_p99_seconds/, 'event loop delay');
  has(node, 'prometheus', /nodejs_eventloop_utilization_ratio/, 'event loop utilisation');
  has(node, 'prometheus', /v8js_memory_heap_used_bytes/, 'heap');
  has(node, 'prometheus', /v8js_gc_duration_seconds/, 'GC');
  has(node, 'loki', /sum by \(severity_text\) \(count_over_time/, 'log volume by level');
  has(node, 'loki', /severity_text=~"\(\?i\)error/, 'recent error logs');
  has(node, 'loki', /sum by \(exception_type, otelkit_error_group, http_route\) \(count_over_time\(\{service_name="\$service"\} \| otelkit_error_group != ""/, 'error groups from the exception records');
  has(node, 'loki', /^\{service_name="\$service"\} \| otelkit_error_group != ""$/, 'latest exception records');
  has(node, 'prometheus', /otelkit_exceptions_total/, 'exceptions counted on /metrics');
  assert.ok(node.some((q) => q.exemplar), 'a latency panel shows exemplars (metric -> trace)');
  const pipe = exprs('Telemetry pipeline');
  for (const sig of ['spans', 'log_records', 'metric_points']) {
    has(pipe, 'prometheus', new RegExp(`otelcol_receiver_accepted_${sig}\\b`), `collector accepted ${sig}`);
    has(pipe, 'prometheus', new RegExp(`otelcol_receiver_refused_${sig}\\b`), `collector refused ${sig}`);
    has(pipe, 'prometheus', new RegExp(`otelcol_exporter_sent_${sig}\\b`), `collector sent ${sig}`);
  }
  for (const sig of ['spans', 'log_records']) has(pipe, 'prometheus', new RegExp(`otelcol_exporter_send_failed_${sig}\\b`), `collector dropped ${sig}`);
  has(pipe, 'prometheus', /otelcol_processor_incoming_items/, 'dropped in processors');
  has(pipe, 'prometheus', /otelcol_exporter_queue_size/, 'queue sizes');
  has(pipe, 'prometheus', /otelkit_export_dropped_total/, 'otelkit dropped');
  has(pipe, 'prometheus', /otelkit_export_failures_total/, 'otelkit failures');
});

test('dashboards: LogQL and TraceQL queries are well formed (structural check only: no Loki or Tempo here)', () => {
  const dsByUid = new Map(loadDatasources().map((d) => [d.uid, d]));
  let n = 0;
  for (const d of loadDashboards()) {
    for (const q of dashboardQueries(d, dsByUid)) {
      if (q.type === 'loki') {
        n += 1;
        assert.deepEqual(checkLogQL(substituteVars(q.expr)), [], `${q.where}: ${q.expr}`);
      } else if (q.type === 'tempo') {
        n += 1;
        assert.deepEqual(checkTraceQL(substituteVars(q.expr)), [], `${q.where}: ${q.query ?? q.expr}`);
      }
    }
  }
  assert.ok(n >= 3);
  // The checkers do reject broken queries.
  assert.notDeepEqual(checkLogQL('{service_name="a" | severity_text="error"'), []);
  assert.notDeepEqual(checkLogQL('sum(count_over_time({service_name="a"}))'), []);
  assert.notDeepEqual(checkLogQL('{job="a"}'), []);
  assert.notDeepEqual(checkTraceQL('{resource.service.name="a" && status=}'), []);
});

test('PromQL helpers: thresholds are stripped, selectors and grouping labels are found', () => {
  assert.equal(stripThreshold('up{job="x"} == 0'), 'up{job="x"}');
  assert.equal(stripThreshold('sum(rate(a[5m])) / sum(rate(b[5m]))\n  > 0.05\n'), 'sum(rate(a[5m])) / sum(rate(b[5m]))');
  assert.equal(stripThreshold('max(x) > bool 1e3'), 'max(x)');
  assert.equal(stripThreshold('rate(x[5m])'), 'rate(x[5m])');
  const a = analyzePromQL('histogram_quantile(0.95, sum by (le, http_route) (rate(m_bucket{service="s", c=~"5.."}[1m]))) / on (x) group_left (y) other offset 5m');
  assert.deepEqual(a.selectors, ['m_bucket{service="s", c=~"5.."}', 'other']);
  assert.deepEqual(a.labels.sort(), ['http_route', 'le', 'x', 'y']);
  assert.deepEqual(analyzePromQL('sum(x) by (a) or vector(0)').selectors, ['x']);
});

// ------------------------------------------------------------------------------ end to end

/** The shipped Prometheus config with its compose targets rewritten to the test's loopback ports. */
function testPrometheusConfig(portOf) {
  const cfg = YAML.parse(readFileSync(PROMETHEUS_CONFIG, 'utf8'));
  delete cfg.alerting;
  cfg.global = { ...cfg.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  cfg.rule_files = (cfg.rule_files ?? []).map((f) => path.resolve(path.dirname(PROMETHEUS_CONFIG), f));
  for (const job of cfg.scrape_configs) {
    for (const sc of job.static_configs ?? []) {
      sc.targets = sc.targets.map((t) => {
        const local = portOf[t];
        if (!local) throw new Error(`deploy/prometheus/prometheus.yml scrapes ${t}, which this test does not run`);
        return `127.0.0.1:${local}`;
      });
    }
  }
  return cfg;
}

const e2e = {};

before(async () => {
  assert.ok(prometheusAvailable(), 'the prometheus binary is missing: apt-get install prometheus');
  assert.ok(existsSync(COLLECTOR_BIN), 'the collector binary is missing: bash collector/build.sh');
});

after(async () => {
  e2e.stopTraffic?.();
  await e2e.traffic?.catch(() => {});
  for (const k of ['orders', 'payment']) await e2e[k]?.stop();
  await e2e.prom?.stop();
  await e2e.col?.stop();
  await e2e.backend?.close();
});

test('end to end: every PromQL expression of the dashboards and rules returns data from a real Prometheus', { timeout: 240_000 }, async (t) => {
  const backend = e2e.backend = await startBackends();
  const col = e2e.col = await startCollector({ backend });
  const [ordersPort, ordersAdmin, paymentPort, paymentAdmin] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // As in docker-compose.yml, plus OTLP metrics (the compose services are only scraped) so the
  // collector's metrics pipeline has OTLP metric points to count, and short export delays.
  const common = {
    OTELKIT_ENVIRONMENT: 'development',
    OTELKIT_LOG_LEVEL: 'info',
    OTELKIT_LOG_FORMAT: 'json',
    OTEL_EXPORTER_OTLP_ENDPOINT: col.otlpHttpUrl,
    OTEL_METRICS_EXPORTER: 'prometheus,otlp',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
  };
  const payment = e2e.payment = startApp(path.join(ROOT, 'examples/payment-service/server.mjs'), {
    env: { ...common, OTEL_SERVICE_NAME: 'payment-service', PORT: String(paymentPort), OTEL_EXPORTER_PROMETHEUS_PORT: String(paymentAdmin) },
  });
  const orders = e2e.orders = startApp(path.join(ROOT, 'examples/orders-service/server.mjs'), {
    env: { ...common, OTEL_SERVICE_NAME: 'orders-service', PORT: String(ordersPort), OTEL_EXPORTER_PROMETHEUS_PORT: String(ordersAdmin), PAYMENT_URL: `http://127.0.0.1:${paymentPort}` },
  });
  await payment.waitFor(/listening/);
  await orders.waitFor(/listening/);

  const prom = e2e.prom = await startPrometheus({
    config: testPrometheusConfig({
      'orders-service:9464': ordersAdmin,
      'payment-service:9464': paymentAdmin,
      'otel-collector:8888': col.ports.telemetry,
      'otel-collector:8889': col.ports.prometheus,
    }),
  });

  // Traffic until the end of the test: paid orders, declined ones (502), reads, unknown ids (404).
  const base = `http://127.0.0.1:${ordersPort}`;
  let running = true;
  e2e.stopTraffic = () => { running = false; };
  const ids = [];
  e2e.traffic = (async () => {
    for (let n = 0; running; n += 1) {
      try {
        if (n % 3 === 0) {
          const declined = n % 6 === 0;
          const res = await fetch(`${base}/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ item: 'book', quantity: 1, amountCents: declined ? 250_000 : 1200, customerEmail: 'alice@example.com' }),
          });
          const body = await res.json();
          if (body.id) ids.push(body.id);
        } else if (n % 3 === 1 && ids.length) {
          await (await fetch(`${base}/orders/${ids[n % ids.length]}`)).arrayBuffer();
        } else {
          await (await fetch(`${base}/orders/unknown-${n}`)).arrayBuffer();
        }
      } catch {}
      await sleep(50);
    }
  })();

  // Phase with failing backends: the collector's exporters get permanent errors (HTTP 400 /
  // gRPC INVALID_ARGUMENT) and give the data up, so its send_failed counters exist.
  await backend.rx.waitFor((rx) => rx.spans.length > 0 && rx.logs.length > 0, { timeoutMs: 20_000 });
  backend.rx.setFailWith(400);
  const failedSeen = async () => {
    const text = await (await fetch(`http://127.0.0.1:${col.ports.telemetry}/metrics`)).text();
    return /^otelcol_exporter_send_failed_spans\{/m.test(text) && /^otelcol_exporter_send_failed_log_records\{/m.test(text);
  };
  const failDeadline = Date.now() + 20_000;
  while (!(await failedSeen())) {
    assert.ok(Date.now() < failDeadline, `the collector never counted failed sends\n${col.output().slice(-3000)}`);
    await sleep(250);
  }
  backend.rx.setFailWith(null);
  await prom.waitForScrapes(2);

  const dsByUid = new Map(loadDatasources().map((d) => [d.uid, d]));
  const checks = [
    ...loadDashboards().flatMap((d) => dashboardQueries(d, dsByUid)).filter((q) => q.type === 'prometheus'),
    ...ruleExpressions(),
  ];
  assert.ok(checks.length >= 40, `expected the dashboards and rules to hold many PromQL expressions, found ${checks.length}`);

  // Poll until every check passes (the span metrics connector flushes every 15 s; rates need two
  // samples), then report every failing check at once.
  let failures = [];
  const deadline = Date.now() + 90_000;
  for (;;) {
    failures = [];
    for (const q of checks) {
      const problems = await checkPromQL(prom, q);
      if (problems.length) failures.push(`${q.where}:\n    ${problems.join('\n    ')}`);
    }
    const groups = await prom.rules();
    for (const g of groups) {
      for (const r of g.rules) {
        if (r.health !== 'ok') failures.push(`rule ${r.name}: health ${r.health} ${r.lastError ?? ''}`);
      }
    }
    if (groups.length === 0) failures.push('Prometheus loaded no rule group');
    if (failures.length === 0 || Date.now() > deadline) break;
    await sleep(2000);
  }
  assert.deepEqual(failures, [], `PromQL checks failed:\n${failures.join('\n')}`);
  t.diagnostic(`${checks.length} PromQL expressions returned data`);

  // A query over a metric that does not exist fails the check (the test can tell).
  const bogus = await checkPromQL(prom, { where: 'bogus', expr: 'sum by (http_route) (rate(http_server_request_duration_seconds_count{service="$service", nope="x"}[$__rate_interval]))' });
  assert.ok(bogus.length > 0, 'an unknown label matcher is reported');
  const bogusLabel = await checkPromQL(prom, { where: 'bogus', expr: 'sum by (no_such_label) (rate(http_server_request_duration_seconds_count{service="$service"}[$__rate_interval]))' });
  assert.ok(bogusLabel.some((p) => p.includes('no_such_label')), 'an unknown grouping label is reported');
  const bogusMetric = await checkPromQL(prom, { where: 'bogus', expr: 'sum(rate(otelcol_receiver_accepted_spans_total[1m])) or vector(0)' });
  assert.ok(bogusMetric.some((p) => p.includes('matches no series')), 'an unknown metric is reported even behind `or vector(0)`');

  // Metric -> trace: the span metrics' exemplars carry trace ids of traces Tempo (stand-in) got.
  const traceIds = new Set(backend.rx.spans.map((s) => s.traceId));
  let linked = false;
  const exDeadline = Date.now() + 30_000;
  while (!linked && Date.now() < exDeadline) {
    const ex = await prom.exemplars('traces_span_metrics_duration_milliseconds_bucket{service_name="orders-service"}');
    linked = ex.some((s) => s.exemplars.some((e) => traceIds.has(e.labels.trace_id)));
    if (!linked) await sleep(1000);
  }
  assert.ok(linked, 'exemplars with the trace_id of a received trace are stored by Prometheus');
});

test('Loki ruler rules: the error-log rate alert is well formed (structural check only: no Loki here)', () => {
  const dir = path.join(DEPLOY, 'loki/rules');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length > 0);
  const alerts = [];
  for (const f of files) {
    const doc = YAML.parse(readFileSync(path.join(dir, f), 'utf8'));
    for (const g of doc.groups) {
      assert.ok(g.name, `${f}: group name`);
      for (const r of g.rules) {
        assert.ok(r.alert || r.record, `${f}: alert or record`);
        assert.deepEqual(checkLogQL(r.expr.trim().replace(/\s*>\s*[\d.]+\s*$/, '')), [], `${f} ${r.alert}: ${r.expr}`);
        if (r.alert) {
          assert.match(r.for ?? '', /^\d+[smh]$/, `${f} ${r.alert}: for`);
          assert.ok(['warning', 'critical'].includes(r.labels?.severity), `${f} ${r.alert}: severity label`);
          assert.ok(r.annotations?.summary, `${f} ${r.alert}: summary`);
        }
        alerts.push(r.alert);
      }
    }
  }
  assert.ok(alerts.includes('HighErrorLogRate'));
});
