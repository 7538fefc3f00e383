import { parse as parsePg } from 'pg-connection-string';
import { ConfigError, parseConfig } from './config.schema.js';

// A password with every character a URL treats specially, as a managed database may generate.
const nasty = `p@ss:w/rd#?%25 "q'\\&=+!`;

describe('DATABASE_PASSWORD and REDIS_PASSWORD', () => {
  const base = { AUTH_JWKS_URL: 'http://auth/jwks.json' };

  it('replace the URL password, percent-encoded, and the drivers read it back unchanged', () => {
    const c = parseConfig('chat', {
      ...base,
      DATABASE_URL: 'postgres://chat@db.example.com:5432/chat',
      DATABASE_PASSWORD: nasty,
      REDIS_URL: 'redis://cache.example.com:6379',
      REDIS_PASSWORD: nasty,
    });
    const pg = parsePg(c.DATABASE_URL!);
    expect(pg).toMatchObject({ user: 'chat', password: nasty, host: 'db.example.com', port: '5432', database: 'chat' });
    // node-redis reads the password with URL + decodeURIComponent.
    const r = new URL(c.REDIS_URL!);
    expect([r.hostname, r.port, decodeURIComponent(r.password)]).toEqual(['cache.example.com', '6379', nasty]);
  });

  it('win over a password already in the URL; without them the URL is used as given', () => {
    const c = parseConfig('migrate', { DATABASE_URL: 'postgres://chat:old@db/chat', DATABASE_PASSWORD: 'new' });
    expect(parsePg(c.DATABASE_URL!).password).toBe('new');
    const plain = parseConfig('migrate', { DATABASE_URL: 'postgres://chat:old@db/chat' });
    expect(plain.DATABASE_URL).toBe('postgres://chat:old@db/chat');
  });

  it('an empty password or a URL that cannot hold one is a config error', () => {
    expect(() => parseConfig('migrate', { DATABASE_URL: 'postgres://db/chat', DATABASE_PASSWORD: '' })).toThrow(/DATABASE_PASSWORD/);
    expect(() => parseConfig('chat', { ...base, DATABASE_URL: 'postgres://', DATABASE_PASSWORD: 'x' })).toThrow(ConfigError);
  });
});
