#!/usr/bin/env node
// Every value has a `## @param <key> <description>` line and every such line names a value
// (readme-generator style), in the umbrella's and each subchart's values.yaml.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(process.env.CHAT_REPO ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'charts', 'chat');
const files = [
  join(root, 'values.yaml'),
  ...readdirSync(join(root, 'charts'))
    .map((c) => join(root, 'charts', c, 'values.yaml'))
    .filter(existsSync),
];
let bad = 0;
function leaves(v, path, out) {
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length)
    for (const [k, c] of Object.entries(v)) leaves(c, path ? `${path}.${k}` : k, out);
  else out.push(path);
  return out;
}
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const values = parse(text) ?? {};
  const documented = new Map([...text.matchAll(/^\s*## @param (\S+) (.*)$/gm)].map((m) => [m[1], m[2]]));
  const keys = leaves(values, '', []).filter(Boolean);
  const name = f.slice(root.length + 1);
  // Umbrella: a subchart section documents only what the umbrella sets; the rest is in the subchart.
  const covered = (k) => documented.has(k) || [...documented.keys()].some((d) => k.startsWith(`${d}.`));
  const problem = (msg) => {
    bad++;
    console.log(`FAIL values-docs ${name}: ${msg}`);
  };
  for (const k of keys) if (!covered(k)) problem(`${k} has no ## @param line`);
  for (const [k, d] of documented) {
    const exists = k.split('.').reduce((o, s) => (o && typeof o === 'object' && s in o ? o[s] : undefined), values) !== undefined;
    if (!exists) problem(`@param ${k} names no value`);
    if (d.trim().length < 8) problem(`@param ${k} has no description`);
  }
}
if (!bad) console.log(`PASS values-docs: every value of ${files.length} values.yaml files has a ## @param line`);
process.exit(bad ? 1 : 0);
