import { Injectable, ServiceUnavailableException } from '@nestjs/common';

/**
 * Tracks writes in flight so a SIGTERM can stop taking new ones and wait for the rest
 * before the process exits.
 */
@Injectable()
export class LifecycleService {
  private draining = false;
  private inFlight = 0;
  private idle: Array<() => void> = [];

  get isDraining() {
    return this.draining;
  }

  startDraining() {
    this.draining = true;
  }

  /** Runs a write unless draining; the shutdown waits for it to settle. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    if (this.draining) throw new ServiceUnavailableException('Server is shutting down, retry on another instance');
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Resolves when no write is in flight, or after timeoutMs. */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return true;
    return Promise.race([
      new Promise<boolean>((resolve) => this.idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]);
  }
}
