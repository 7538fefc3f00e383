import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter (unit)', () => {
  test('allows up to the limit per window, then says how long to wait', () => {
    const rl = new RateLimiter();
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => rl.consume('k', 3, 10_000, t0).allowed)).toEqual([true, true, true]);
    expect(rl.consume('k', 3, 10_000, t0 + 2_500)).toEqual({ allowed: false, retryAfterSeconds: 8 });
    expect(rl.consume('other', 3, 10_000, t0).allowed).toBe(true);
    expect(rl.consume('k', 3, 10_000, t0 + 10_000).allowed).toBe(true);
    rl.onModuleDestroy();
  });
});
