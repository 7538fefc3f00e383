import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import type { Jwks } from '../common/auth/token-verifier.js';

/**
 * The ES256 signing key. It comes from configuration; only the all-in-one development
 * process may generate one, and it then keeps it in DATA_DIR so tokens survive a restart.
 */
@Injectable()
export class KeysService implements OnModuleInit {
  private readonly log = new Logger('auth');
  private privateKey!: KeyObject;
  private privatePem!: string;
  kid!: string;
  private jwks!: Jwks;

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  async onModuleInit() {
    const pem = await this.loadPem();
    this.privateKey = createPrivateKey(pem);
    const details = this.privateKey.asymmetricKeyDetails;
    if (this.privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
      throw new Error('JWT_PRIVATE_KEY must be an EC P-256 (ES256) private key');
    }
    this.privatePem = this.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const jwk = createPublicKey(this.privateKey).export({ format: 'jwk' });
    // RFC 7638 thumbprint: a stable kid unless one is configured.
    this.kid =
      this.config.JWT_KEY_ID ??
      createHash('sha256')
        .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
        .digest('base64url');
    this.jwks = { keys: [{ ...jwk, kid: this.kid, alg: 'ES256', use: 'sig' } as Jwks['keys'][number]] };
  }

  get signingPem() {
    return this.privatePem;
  }

  publicJwks(): Jwks {
    return this.jwks;
  }

  private async loadPem(): Promise<string> {
    if (this.config.JWT_PRIVATE_KEY) return this.config.JWT_PRIVATE_KEY.replace(/\\n/g, '\n');
    if (this.config.JWT_PRIVATE_KEY_FILE) return readFile(this.config.JWT_PRIVATE_KEY_FILE, 'utf8');
    if (this.config.role !== 'all' || !this.config.DATA_DIR) throw new Error('JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required');
    const file = join(this.config.DATA_DIR, 'jwt-signing-key.pem');
    try {
      return await readFile(file, 'utf8');
    } catch {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      await mkdir(this.config.DATA_DIR, { recursive: true });
      await writeFile(file, pem, { mode: 0o600 });
      this.log.warn({ msg: 'generated a development signing key; set JWT_PRIVATE_KEY in production', file });
      return pem;
    }
  }
}
