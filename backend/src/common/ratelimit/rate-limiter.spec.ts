import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter (unit)', () => {
  test('allows up to the limit per window, then says how long to wait', async () => {
    const rl = new RateLimiter();
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect((await rl.consume('k', 3, 10_000, t0)).allowed).toBe(true);
    expect(await rl.consume('k', 3, 10_000, t0 + 2_500)).toEqual({ allowed: false, retryAfterSeconds: 8 });
    expect((await rl.consume('other', 3, 10_000, t0)).allowed).toBe(true);
    expect((await rl.consume('k', 3, 10_000, t0 + 10_000)).allowed).toBe(true);
    rl.onModuleDestroy();
  });
});
