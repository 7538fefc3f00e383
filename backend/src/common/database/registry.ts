import { AuthInit1732000000001 } from '../../auth/migrations/1732000000001-auth-init.js';
import { ChatInit1732000000002 } from '../../chat/migrations/1732000000002-chat-init.js';
import { ChatPeopleMentions1733000000000 } from '../../chat/migrations/1733000000000-chat-people-mentions.js';
import { ChatThreadsReactionsChanges1734000000000 } from '../../chat/migrations/1734000000000-chat-threads-reactions-changes.js';
import { ChatSearch1735000000000 } from '../../chat/migrations/1735000000000-chat-search.js';
import { ChatUploads1736000000000 } from '../../chat/migrations/1736000000000-chat-uploads.js';
import { UsersInit1732000000000 } from '../../users/migrations/1732000000000-users-init.js';

/** Every module's migrations, in timestamp order; the migration Job applies them all. */
export const allMigrations = [
  UsersInit1732000000000,
  AuthInit1732000000001,
  ChatInit1732000000002,
  ChatPeopleMentions1733000000000,
  ChatThreadsReactionsChanges1734000000000,
  ChatSearch1735000000000,
  ChatUploads1736000000000,
];
