#!/usr/bin/env node
// Sets a chart's version and appVersion and makes its artifacthub.io/images follow: the chat
// images at that version (from a registry, default the one listed), the rest as listed.
// `helm package --app-version` alone leaves the annotation at the old tags.
//   node scripts/chart/set-version.mjs <chart dir> <version> [registry, e.g. ghcr.io/owner]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, version, registry] = process.argv.slice(2);
if (!dir || !/^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/.test(version ?? '')) {
  console.error('usage: set-version.mjs <chart dir> <semver> [registry]');
  process.exit(2);
}
const file = join(dir, 'Chart.yaml');
let text = readFileSync(file, 'utf8');
text = text.replace(/^version: .*$/m, `version: ${version}`).replace(/^appVersion: .*$/m, `appVersion: '${version}'`);
// "image: <registry>/chat-<name>:<tag>" lines of the annotation.
text = text.replace(
  /^(\s+image: )(\S+\/)?(chat-[a-z-]+):\S+$/gm,
  (_, pre, reg, name) => `${pre}${registry ? `${registry.replace(/\/$/, '')}/` : (reg ?? '')}${name}:${version}`,
);
writeFileSync(file, text);
console.log(`${file}: version and appVersion ${version}, chat images ${registry ?? 'in their registry'} at ${version}`);
