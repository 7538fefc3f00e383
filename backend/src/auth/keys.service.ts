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
 * Keys retired by a rotation (JWT_PREVIOUS_KEYS) are published in the JWKS next to the
 * active one, never used to sign, so tokens they signed verify until they expire.
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
    const active = publicJwk(createPublicKey(this.privateKey), this.config.JWT_KEY_ID);
    this.kid = active.kid;
    const previous = (await this.loadPrevious()).map((k) => publicJwk(k)).filter((k) => k.kid !== this.kid);
    this.jwks = { keys: [active, ...previous] };
    if (previous.length) this.log.log({ msg: 'previous keys published for verification', kids: previous.map((k) => k.kid) });
  }

  get signingPem() {
    return this.privatePem;
  }

  publicJwks(): Jwks {
    return this.jwks;
  }

  /** Every PEM block of JWT_PREVIOUS_KEYS(_FILE): public keys, or private keys (their public half is used). */
  private async loadPrevious(): Promise<KeyObject[]> {
    const text = this.config.JWT_PREVIOUS_KEYS?.replace(/\\n/g, '\n') ?? (await readOptional(this.config.JWT_PREVIOUS_KEYS_FILE));
    const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
    if (text.trim() && blocks.length === 0) throw new Error('JWT_PREVIOUS_KEYS holds no PEM block');
    return blocks.map((pem) => {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('JWT_PREVIOUS_KEYS must hold EC P-256 keys');
      return key;
    });
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

/** A file that may not exist yet (the chart mounts the previous keys only after a first rotation). */
async function readOptional(file: string | undefined): Promise<string> {
  if (!file) return '';
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** The public JWK of a key, with its kid: the RFC 7638 thumbprint unless one is given. */
function publicJwk(key: KeyObject, kid?: string): Jwks['keys'][number] {
  const jwk = key.export({ format: 'jwk' });
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    .digest('base64url');
  return { ...jwk, kid: kid ?? thumbprint, alg: 'ES256', use: 'sig' } as Jwks['keys'][number];
}
