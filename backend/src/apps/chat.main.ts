import { main } from '../common/app.js';
import { features } from './modules.js';

await main('chat', features.chat);
