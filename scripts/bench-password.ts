/**
 * How much CPU one sign-in costs: argon2id hashes and verifications with the
 * settings of lib/passwords.ts, timed by process CPU time (not wall time).
 *   npm run bench:password
 */
import { hashPassword, verifyPassword } from '../lib/passwords.js';

const ROUNDS = 40;

async function cpuMsPerOp(op: () => Promise<unknown>): Promise<{ cpuMs: number; wallMs: number }> {
  await op(); // warm-up
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < ROUNDS; i++) await op();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / ROUNDS, wallMs: (performance.now() - wall) / ROUNDS };
}

const hash = await hashPassword('correct horse battery staple');
const hashing = await cpuMsPerOp(() => hashPassword('correct horse battery staple'));
const verifying = await cpuMsPerOp(() => verifyPassword(hash, 'correct horse battery staple'));
console.log(`argon2id m=19456 KiB t=2 p=1, ${ROUNDS} rounds each`);
console.log(`hash:   ${hashing.cpuMs.toFixed(1)} ms CPU, ${hashing.wallMs.toFixed(1)} ms wall per operation`);
console.log(`verify: ${verifying.cpuMs.toFixed(1)} ms CPU, ${verifying.wallMs.toFixed(1)} ms wall per operation (one sign-in)`);
