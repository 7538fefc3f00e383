import { configOrExit } from '../common/app.js';
import { runMigrations } from '../common/database/migrate.js';

// The chart's pre-install/pre-upgrade Job: apply every module's migrations, then exit.
const config = configOrExit('migrate');
try {
  const applied = await runMigrations(config);
  process.stdout.write(`${JSON.stringify({ level: 'log', context: 'migrate', message: 'migrations done', applied })}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', context: 'migrate', message: 'migration failed', error: String(e) })}\n`);
  process.exit(1);
}
