import { describe, expect, test } from 'vitest';
import type { Ack, Message } from '@contract/events';
import { pendingMessage, sendPayload, type ChatMessage } from './messages';
import { Outbox } from './outbox';

const typed = (n: number, roomId = 'r') => pendingMessage({ roomId, body: `m${n}`, clientId: `c${n}`, senderId: 'u', senderName: 'Ann' });

/** A fake server with a send budget: over it, rate_limited until the window is reset. */
function harness(budget: number) {
  const stored: string[] = [];
  const attempts: string[] = [];
  const failures: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let left = budget;
  let connected = true;
  const confirmed = new Set<string>();
  const box = new Outbox({
    send: async (m: ChatMessage): Promise<Ack<{ message: Message }>> => {
      attempts.push(m.body);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      if (left-- <= 0) return { ok: false, error: { code: 'rate_limited', message: 'slow down' } };
      if (m.body === 'too big') return { ok: false, error: { code: 'too_large', message: 'too large' } };
      if (!confirmed.has(m.clientId)) stored.push(m.body);
      confirmed.add(m.clientId);
      return { ok: true, message: { ...m, seq: stored.length, id: m.clientId } };
    },
    connected: () => connected,
    stillPending: (m) => !confirmed.has(m.clientId),
    delivered: () => undefined,
    failed: (m) => void failures.push(m.body),
    // The window resets while the client backs off.
    wait: async () => {
      left = budget;
    },
  });
  return { box, stored, attempts, failures, maxInFlight: () => maxInFlight, setConnected: (c: boolean) => (connected = c) };
}

describe('Outbox: per-sender order', () => {
  test('under the rate limit, the rate-limited message is stored before the ones typed after it', async () => {
    const h = harness(3);
    await Promise.all(Array.from({ length: 10 }, (_, i) => h.box.enqueue(typed(i + 1))));
    expect(h.stored).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10']);
    expect(h.attempts.filter((b) => b === 'm4').length).toBe(2);
    expect(h.maxInFlight()).toBe(1);
  });

  test('rooms do not wait for each other, but each keeps its order', async () => {
    const h = harness(1000);
    await Promise.all([h.box.enqueue(typed(1, 'a')), h.box.enqueue(typed(2, 'b')), h.box.enqueue(typed(3, 'a'))]);
    expect(h.stored.filter((b) => b !== 'm2')).toEqual(['m1', 'm3']);
    expect(h.maxInFlight()).toBe(2);
  });

  test('a message refused for good is marked failed and the rest go on in order', async () => {
    const h = harness(1000);
    const big = { ...typed(2), body: 'too big' };
    await Promise.all([h.box.enqueue(typed(1)), h.box.enqueue(big), h.box.enqueue(typed(3))]);
    expect(h.stored).toEqual(['m1', 'm3']);
    expect(h.failures).toEqual(['too big']);
  });

  test('nothing is sent while disconnected; re-queued after the reconnect, order holds and nothing is stored twice', async () => {
    const h = harness(1000);
    h.setConnected(false);
    const list = [typed(1), typed(2), typed(3)];
    await Promise.all(list.map((m) => h.box.enqueue(m)));
    expect(h.attempts).toEqual([]);
    h.setConnected(true);
    await Promise.all(list.map((m) => h.box.enqueue(m)));
    // A second reconnect before the first catch-up finished queues them again: no duplicates.
    await Promise.all(list.map((m) => h.box.enqueue(m)));
    expect(h.stored).toEqual(['m1', 'm2', 'm3']);
  });
});

describe('Outbox: attachments', () => {
  test('a message with files keeps them through retries (same clientId, same upload ids) and is stored once', async () => {
    const files = [
      { id: 'u1', name: 'a.png', size: 3, contentType: 'image/png', width: 1, height: 1 },
      { id: 'u2', name: 'b.txt', size: 4, contentType: 'text/plain' },
    ];
    const m = pendingMessage({ roomId: 'r', body: '', clientId: 'c1', senderId: 'u', senderName: 'Ann', attachments: files });
    const payloads: unknown[] = [];
    const stored = new Map<string, unknown>();
    let answers = 0;
    const box = new Outbox({
      send: async (x) => {
        const p = sendPayload(x);
        payloads.push(p);
        answers++;
        // First no answer at all (stored, ack lost), then rate limited, then accepted.
        if (answers === 1) {
          stored.set(p.clientId, p);
          throw new Error('timeout');
        }
        if (answers === 2) return { ok: false, error: { code: 'rate_limited', message: 'slow down' } };
        if (!stored.has(p.clientId)) stored.set(p.clientId, p);
        return { ok: true, message: { ...x, seq: 1, id: 'm1' } };
      },
      connected: () => true,
      stillPending: () => true,
      delivered: () => undefined,
      failed: () => undefined,
      wait: async () => undefined,
    });
    await box.enqueue(m);
    expect(payloads).toHaveLength(3);
    for (const p of payloads) expect(p).toEqual({ roomId: 'r', body: '', clientId: 'c1', attachments: ['u1', 'u2'] });
    expect(stored.size).toBe(1);
  });

  test('a message without files sends no attachments field', () => {
    expect(sendPayload(typed(1))).toEqual({ roomId: 'r', body: 'm1', clientId: 'c1' });
  });
});
