import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload as S3Upload } from '@aws-sdk/lib-storage';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../common/config/config.schema.js';
import type { Queryable } from '../room-access.js';

/**
 * Where the bytes of uploads live, keyed by the upload id alone (never a name or path from
 * the client). Both backends stream: a write holds at most one chunk (PostgreSQL) or one part
 * (S3) in memory, a read hands chunks over as the consumer takes them.
 */
export interface UploadStorage {
  readonly kind: 'postgres' | 's3';
  /** Stores the bytes as they come; on error what was stored is left for remove(). */
  write(id: string, source: AsyncIterable<Buffer>): Promise<void>;
  read(id: string): Promise<Readable>;
  /**
   * Removes the bytes of these uploads; removing what is not there is fine. `tx`: the caller's
   * transaction (PostgreSQL uses it: the embedded database serves one transaction at a time).
   */
  remove(ids: string[], tx?: Queryable): Promise<void>;
  /** Whether any bytes of this upload are stored (tests and checks). */
  has(id: string): Promise<boolean>;
}

export const UPLOAD_STORAGE = Symbol('UPLOAD_STORAGE');

/** Bytes of one chat.upload_chunks row: big enough for few round trips, small enough for the heap. */
export const CHUNK_BYTES = 256 * 1024;

/** A bytea value as the driver hands it over: Buffer (pg), Uint8Array (embedded) or '\\x...' hex text. */
export const asBuffer = (v: Buffer | Uint8Array | string): Buffer =>
  Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v.replace(/^\\x/, ''), 'hex') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** The bytes in chat.upload_chunks: a database backup includes the files, and kind/minikube need nothing more. */
export class PostgresStorage implements UploadStorage {
  readonly kind = 'postgres';
  constructor(private readonly db: DataSource) {}

  async write(id: string, source: AsyncIterable<Buffer>): Promise<void> {
    let n = 0;
    let pending: Buffer[] = [];
    let size = 0;
    const flush = async (data: Buffer) => {
      await this.db.query(`INSERT INTO chat.upload_chunks (upload_id, n, data) VALUES ($1, $2, $3)`, [id, n++, data]);
    };
    for await (const chunk of source) {
      pending.push(chunk);
      size += chunk.length;
      while (size >= CHUNK_BYTES) {
        const all = Buffer.concat(pending);
        await flush(all.subarray(0, CHUNK_BYTES));
        const rest = all.subarray(CHUNK_BYTES);
        pending = rest.length ? [rest] : [];
        size = rest.length;
      }
    }
    if (size > 0) await flush(Buffer.concat(pending));
  }

  async read(id: string): Promise<Readable> {
    let n = 0;
    const db = this.db;
    // One row per read(): the next chunk is fetched only when the consumer wants more.
    return new Readable({
      highWaterMark: 1,
      read() {
        db.query(`SELECT data FROM chat.upload_chunks WHERE upload_id = $1 AND n = $2`, [id, n++]).then(
          (rows: Array<{ data: Buffer | Uint8Array | string }>) => this.push(rows.length ? asBuffer(rows[0].data) : null),
          (e: Error) => this.destroy(e),
        );
      },
    });
  }

  async remove(ids: string[], tx: Queryable = this.db): Promise<void> {
    if (ids.length) await tx.query(`DELETE FROM chat.upload_chunks WHERE upload_id = ANY($1::uuid[])`, [ids]);
  }

  async has(id: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(`SELECT 1 FROM chat.upload_chunks WHERE upload_id = $1 LIMIT 1`, [id]);
    return rows.length > 0;
  }
}

/** 5 MiB is S3's smallest multipart part; one part in flight keeps an upload's memory to about that. */
const PART_BYTES = 5 * 1024 * 1024;

/**
 * An S3-compatible bucket through the AWS SDK: multipart upload as the bytes arrive
 * (lib-storage), GetObject streamed back. Credentials come from the SDK's standard chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, instance role...).
 */
export class S3Storage implements UploadStorage {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(config: Pick<AppConfig, 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>) {
    this.bucket = config.S3_BUCKET!;
    this.client = new S3Client({
      region: config.S3_REGION ?? 'us-east-1',
      endpoint: config.S3_ENDPOINT || undefined,
      forcePathStyle: config.S3_FORCE_PATH_STYLE ?? false,
      // Checksums only when S3 asks for them: many S3-compatible servers reject the newer headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(id: string) {
    return `uploads/${id}`;
  }

  async write(id: string, source: AsyncIterable<Buffer>): Promise<void> {
    const upload = new S3Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(id), Body: Readable.from(source, { objectMode: false }) },
      partSize: PART_BYTES,
      queueSize: 1,
      // A failed multipart upload is aborted, so no parts are left behind in the bucket.
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async read(id: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(id) }));
    return out.Body as Readable;
  }

  async remove(ids: string[]): Promise<void> {
    // One DeleteObject per id: DeleteObjects needs a Content-MD5 that not every S3-compatible server checks the same way.
    for (const id of ids) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(id) }));
  }

  async has(id: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(id) }));
      return true;
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return false;
      throw e;
    }
  }

  destroy() {
    this.client.destroy();
  }
}
