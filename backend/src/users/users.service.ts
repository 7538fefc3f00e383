import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { User, UserSummary } from '../contract/events.js';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { likePrefix, returning } from '../common/database/sql.js';
import { READ_WINDOW_MS, RateLimiter } from '../common/ratelimit/rate-limiter.js';

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  created_at: Date;
}

const toUser = (r: UserRow): User => ({ id: r.id, username: r.username, displayName: r.display_name, createdAt: r.created_at.toISOString() });

/** Public profiles in the users schema. Never reads auth tables. */
@Injectable()
export class UsersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {}

  async get(id: string): Promise<User> {
    const [row] = await this.db.query<UserRow[]>(`SELECT id, username, display_name, created_at FROM users.users WHERE id = $1`, [id]);
    if (!row) throw new NotFoundException('No such user');
    return toUser(row);
  }

  async updateDisplayName(id: string, displayName: string): Promise<User> {
    const [row] = returning<UserRow>(
      await this.db.query(`UPDATE users.users SET display_name = $2 WHERE id = $1 RETURNING id, username, display_name, created_at`, [id, displayName]),
    );
    if (!row) throw new NotFoundException('No such user');
    return toUser(row);
  }

  async search(userId: string, query: string, limit: number): Promise<UserSummary[]> {
    await this.limiter.enforce(`read:${userId}`, this.config.READ_RATE_LIMIT!, READ_WINDOW_MS);
    const rows = await this.db.query<UserRow[]>(
      `SELECT id, username, display_name FROM users.users
        WHERE username LIKE $1 OR lower(display_name) LIKE $1
        ORDER BY username LIMIT $2`,
      [likePrefix(query), limit],
    );
    return rows.map((r) => ({ id: r.id, username: r.username, displayName: r.display_name }));
  }
}
