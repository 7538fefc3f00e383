import { DynamicModule, FactoryProvider, Module, ModuleMetadata, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { JWKS_SOURCE, JwksSource, TokenVerifier } from './token-verifier.js';
import { TokenAuthGuard } from './token-auth.guard.js';

export type JwksSourceProvider = Omit<FactoryProvider<JwksSource>, 'provide'>;

/** Token verification for users and chat: a JWKS source plus the global guard. */
@Module({})
export class TokenAuthModule {
  static forRoot(source: JwksSourceProvider, imports: ModuleMetadata['imports'] = []): DynamicModule {
    const providers: Provider[] = [{ provide: JWKS_SOURCE, ...source }, TokenVerifier, { provide: APP_GUARD, useClass: TokenAuthGuard }];
    return { module: TokenAuthModule, global: true, imports: [JwtModule.register({}), ...imports], providers, exports: [TokenVerifier] };
  }
}
