import type { Ack, Message } from '@contract/events';
import type { ChatMessage } from './messages';

export interface OutboxHooks {
  /** One `message:send`; rejects when no ack came in time. */
  send(m: ChatMessage): Promise<Ack<{ message: Message }>>;
  connected(): boolean;
  /** False once the message was confirmed some other way (or deleted from the list). */
  stillPending(m: ChatMessage): boolean;
  delivered(message: Message): void;
  failed(m: ChatMessage, reason: string): void;
  wait(ms: number): Promise<void>;
}

/** Answers after which the same message is sent again (same clientId, stored at most once). */
const RETRYABLE = new Set(['rate_limited', 'unavailable']);
const MAX_NO_ANSWER = 3;
export const backoffMs = (attempt: number) => Math.min(5000, 500 * 2 ** attempt);

/**
 * A sender's messages are stored in the order they were typed: per room, one `message:send`
 * is in flight at a time, and the next waits until the previous one is acknowledged. A
 * rate-limited (or refused while draining) message is retried with backoff before anything
 * typed after it; an unanswered one is retried with the same clientId (the server stores it
 * once). While disconnected nothing is sent; after a reconnect every unsent message is queued
 * again in list order. Only a message the server refused for good (e.g. too large) is marked
 * failed and skipped; a manual retry then sends it after the rest.
 */
export class Outbox {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly hooks: OutboxHooks) {}

  enqueue(m: ChatMessage): Promise<void> {
    const next = (this.chains.get(m.roomId) ?? Promise.resolve()).then(() => this.deliver(m));
    this.chains.set(m.roomId, next);
    void next.finally(() => {
      if (this.chains.get(m.roomId) === next) this.chains.delete(m.roomId);
    });
    return next;
  }

  private async deliver(m: ChatMessage) {
    let silent = 0;
    for (let attempt = 0; ; attempt++) {
      if (!this.hooks.connected() || !this.hooks.stillPending(m)) return;
      let ack: Ack<{ message: Message }>;
      try {
        ack = await this.hooks.send(m);
      } catch {
        if (++silent >= MAX_NO_ANSWER) return this.hooks.failed(m, 'No answer from the server');
        await this.hooks.wait(backoffMs(attempt));
        continue;
      }
      if (ack.ok) return this.hooks.delivered(ack.message);
      if (!RETRYABLE.has(ack.error.code)) return this.hooks.failed(m, ack.error.message);
      await this.hooks.wait(backoffMs(attempt));
    }
  }
}
