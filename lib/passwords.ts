/**
 * argon2id with OWASP's minimum (19 MiB, 2 iterations, 1 lane): about 10 to 20 ms
 * of CPU per hash on the 2-core reference machine; slow for an attacker, fine for
 * a login. (@node-rs/argon2: the native `argon2` package's prebuilt binary crashes
 * on this machine class, see docs/security.md.)
 */
import { hash, verify } from '@node-rs/argon2';

// algorithm 2 is Algorithm.Argon2id (a const enum, which isolated modules cannot import).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
// The PHC prefix of a hash made with OPTIONS; anything else was made with older settings.
const CURRENT_PREFIX = `$argon2id$v=19$m=${OPTIONS.memoryCost},t=${OPTIONS.timeCost},p=${OPTIONS.parallelism}$`;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

// Verified against when the account does not exist, so a wrong email costs as long as a wrong password.
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('uvis-no-such-account');
  await verifyPassword(await dummyHash, password);
}

export function needsRehash(stored: string): boolean {
  return !stored.startsWith(CURRENT_PREFIX);
}
