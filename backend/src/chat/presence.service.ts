import { Injectable } from '@nestjs/common';

/** Counts each user's open sockets on this process; online while the count is above zero. */
@Injectable()
export class PresenceService {
  private readonly sockets = new Map<string, number>();

  /** Returns true when this is the user's first socket. */
  connected(userId: string): boolean {
    const n = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, n);
    return n === 1;
  }

  /** Returns true when the user has no socket left. */
  disconnected(userId: string): boolean {
    const n = (this.sockets.get(userId) ?? 1) - 1;
    if (n <= 0) this.sockets.delete(userId);
    else this.sockets.set(userId, n);
    return n <= 0;
  }

  onlineAmong(userIds: string[]): string[] {
    return userIds.filter((id) => this.sockets.has(id));
  }
}
