import { Algorithm, hash, verify } from '@node-rs/argon2';

// OWASP password storage cheat sheet: argon2id, 19 MiB, 2 iterations, 1 lane. The hashing
// runs on libuv's thread pool (napi-rs async task), off the event loop. @node-rs/argon2 ships
// per-platform binaries that load everywhere we run; the `argon2` package's glibc prebuild
// crashed on load here.
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => hash(password, OPTIONS);
export const verifyPassword = (encoded: string, password: string) => verify(encoded, password).catch(() => false);

/** Verified against when the username is unknown, so both failures cost the same time. */
let dummy: Promise<string> | undefined;
export const dummyHash = () => (dummy ??= hashPassword('not-a-real-password-0'));
