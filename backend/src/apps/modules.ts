import type { ModuleMetadata } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { KeysService } from '../auth/keys.service.js';
import { ChatModule } from '../chat/chat.module.js';
import { TokenAuthModule } from '../common/auth/token-auth.module.js';
import { RemoteJwks } from '../common/auth/token-verifier.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { UsersModule } from '../users/users.module.js';

type Imports = NonNullable<ModuleMetadata['imports']>;

const remoteKeys = (config: AppConfig) => TokenAuthModule.forRoot({ useFactory: () => new RemoteJwks(config.AUTH_JWKS_URL!) });

/** The modules each process runs; users and chat verify tokens with the auth service's JWKS. */
export const features = {
  auth: (): Imports => [AuthModule],
  users: (c: AppConfig): Imports => [remoteKeys(c), UsersModule],
  chat: (c: AppConfig): Imports => [remoteKeys(c), ChatModule],
  // In one process the JWKS is read in-process instead of over HTTP: still public keys only.
  all: (): Imports => [
    AuthModule,
    TokenAuthModule.forRoot({ useFactory: (keys: KeysService) => ({ fetch: async () => keys.publicJwks() }), inject: [KeysService] }, [AuthModule]),
    UsersModule,
    ChatModule,
  ],
};
