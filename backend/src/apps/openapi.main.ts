import { openApiDocument } from '../contract/openapi.js';

// `npm run openapi` regenerates docs/openapi.json from the zod schemas.
process.stdout.write(`${JSON.stringify(openApiDocument(), null, 2)}\n`);
