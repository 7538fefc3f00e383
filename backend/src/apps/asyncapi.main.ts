import { asyncApiDocument } from '../contract/asyncapi.js';

// `npm run asyncapi` regenerates docs/asyncapi.json from the event map in contract/events.ts.
process.stdout.write(`${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
