#!/usr/bin/env node
// Every query of the Grafana dashboard (charts/chat/dashboards/chat.json), with its variables
// substituted ($namespace, $job and $pod as "All", $__rate_interval):
//   node scripts/ops/panels.mjs rules <dashboard.json> <out.yaml>
//     writes them as recording rules, for `promtool check rules` (each query parses);
//   node scripts/ops/panels.mjs live <dashboard.json> <prometheus URL> [namespace]
//     runs each one through Prometheus' HTTP API: a query must return at least one series with a
//     finite value, except those listed in EXCEPTIONS (with the reason). One PASS/FAIL line per
//     panel, "panels: N passed, M failed", exit 1 on any failure.
import { readFileSync, writeFileSync } from 'node:fs';

const [mode, file, arg, namespace = 'chat'] = process.argv.slice(2);
const dashboard = JSON.parse(readFileSync(file, 'utf8'));
// "<panel title> / <refId>": why that query has no data outside a cluster. None today: the
// panels read only the services' own /metrics (kube-state-metrics and kubelet series are used by
// the alerts alone, which promtool tests with synthetic series).
const EXCEPTIONS = {};

const vars = { namespace, job: '.*', pod: '.*', __rate_interval: '1m' };
const substitute = (expr) =>
  expr.replace(/\$\{?(\w+)\}?/g, (m, name) => {
    if (!(name in vars)) throw new Error(`unknown dashboard variable ${m} in ${expr}`);
    return vars[name];
  });
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: substitute(t.expr) })));
// The dashboard's own variables must be the ones substituted here.
const declared = dashboard.templating.list.map((v) => v.name).sort();
if (declared.join() !== ['datasource', 'job', 'namespace', 'pod'].join()) throw new Error(`dashboard variables changed: ${declared.join(', ')}`);

if (mode === 'rules') {
  const lines = ['groups:', '  - name: dashboard-panels', '    rules:'];
  queries.forEach((q, i) => lines.push(`      - record: dashboard:panel_${i}`, `        expr: ${JSON.stringify(q.expr)}`));
  writeFileSync(arg, lines.join('\n') + '\n');
  console.log(`${queries.length} panel queries of ${dashboard.panels.length} panels written as recording rules to ${arg}`);
} else if (mode === 'live') {
  let passed = 0;
  let failed = 0;
  for (const q of queries) {
    const name = `${q.panel} / ${q.refId}`;
    let detail;
    try {
      const res = await fetch(`${arg}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
      const body = await res.json();
      if (body.status !== 'success') detail = `error: ${body.error}`;
      else {
        const finite = body.data.result.filter((r) => Number.isFinite(Number(r.value[1])));
        if (finite.length) detail = `${finite.length} series, e.g. ${JSON.stringify(finite[0].metric)} = ${finite[0].value[1]}`;
        else detail = body.data.result.length ? `no finite value (${body.data.result.length} series, NaN)` : 'no data';
        if (finite.length) {
          passed++;
          console.log(`PASS ${name}: ${detail}`);
          continue;
        }
      }
    } catch (e) {
      detail = `no answer: ${e.message}`;
    }
    if (EXCEPTIONS[name]) {
      passed++;
      console.log(`PASS ${name}: ${detail} (expected here: ${EXCEPTIONS[name]})`);
    } else {
      failed++;
      console.log(`FAIL ${name}: ${detail}\n    ${q.expr}`);
    }
  }
  console.log(`panels: ${passed} passed, ${failed} failed (${dashboard.panels.length} panels, ${queries.length} queries)`);
  process.exit(failed ? 1 : 0);
} else {
  console.error('usage: panels.mjs rules <dashboard.json> <out.yaml> | live <dashboard.json> <prometheus URL> [namespace]');
  process.exit(2);
}
