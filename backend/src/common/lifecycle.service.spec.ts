import { ServiceUnavailableException } from '@nestjs/common';
import { LifecycleService } from './lifecycle.service.js';

describe('LifecycleService (unit)', () => {
  test('waits for tracked writes, then refuses new ones', async () => {
    const lc = new LifecycleService();
    let finish!: () => void;
    const write = lc.track(() => new Promise<string>((r) => (finish = () => r('done'))));
    lc.startDraining();
    await expect(lc.track(async () => 'late')).rejects.toBeInstanceOf(ServiceUnavailableException);
    const settled = lc.settled(1000);
    finish();
    expect(await write).toBe('done');
    expect(await settled).toBe(true);
  });

  test('gives up waiting after the timeout', async () => {
    const lc = new LifecycleService();
    void lc.track(() => new Promise(() => undefined));
    expect(await lc.settled(20)).toBe(false);
  });
});
