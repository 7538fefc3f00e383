import { fileURLToPath } from 'node:url';
import { main } from '../common/app.js';
import { features } from './modules.js';

// Serve the built client from frontend/dist unless STATIC_DIR says otherwise.
const defaultClient = fileURLToPath(new URL('../../../frontend/dist', import.meta.url));
await main('all', features.all, { STATIC_DIR: defaultClient, ...process.env });
