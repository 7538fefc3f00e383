import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { AppConfig } from '../config/config.schema.js';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Nest's console logger in JSON mode: one object per line, for log shippers. */
export function createLogger(config: Pick<AppConfig, 'LOG_LEVEL' | 'LOG_FORMAT'>, name: string) {
  const level: LogLevel = config.LOG_LEVEL === 'info' ? 'log' : config.LOG_LEVEL;
  return new ConsoleLogger(name, {
    json: config.LOG_FORMAT === 'json',
    logLevels: ORDER.slice(0, ORDER.indexOf(level) + 1),
    colors: config.LOG_FORMAT !== 'json',
  });
}
