import { readFileSync } from 'node:fs';
import { openApiDocument } from './openapi.js';

describe('docs/openapi.json', () => {
  test('is up to date with the zod schemas (run `npm run openapi`)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });
});
