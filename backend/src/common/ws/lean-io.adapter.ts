import { Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { type Observable, filter } from 'rxjs';
import type { Socket } from 'socket.io';

/**
 * Nest's IoAdapter builds an rxjs pipeline per socket and per event name (fromEvent, mergeMap,
 * takeUntil disconnect). With thousands of mostly idle sockets that is memory for nothing:
 * here each event is a plain listener, and rxjs only runs while an event is being answered.
 */
export class LeanIoAdapter extends IoAdapter {
  private readonly log = new Logger('socket');

  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[], transform: (data: unknown) => Observable<unknown>) {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        const { data, ack } = this.mapPayload(args);
        let result$: Observable<unknown>;
        try {
          result$ = transform(callback(data, ack));
        } catch (e) {
          return this.log.error(e);
        }
        result$.pipe(filter((r) => r !== null && r !== undefined)).subscribe({
          next: (response) => {
            const r = response as { event?: string; data?: unknown };
            if (r.event) return void socket.emit(r.event, r.data);
            if (!isAckHandledManually && typeof ack === 'function') ack(response);
          },
          error: (e: unknown) => this.log.error(e),
        });
      });
    }
  }
}
