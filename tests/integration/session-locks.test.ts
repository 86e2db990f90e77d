/** Refresh-token rotation locks the token row only: a second refresh of it waits, references to the user do not. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSession, lockRefreshToken } from '../../db/sessions.js';
import { hashToken, newRefreshToken } from '../../lib/tokens.js';
import { useTestDb } from '../helpers/databases.js';

const test = useTestDb();

describe('refresh token lock', () => {
  it('holds the token row against a second refresh but leaves the session and user rows free for foreign-key checks', async () => {
    const { db } = test;
    const token = newRefreshToken();
    const sessionId = randomUUID();
    await db.transaction((trx) => createSession(trx, { id: sessionId, userId: 1, expiresAt: new Date(Date.now() + 60_000), refreshHash: hashToken(token) }));

    const holder = await db.transaction();
    try {
      expect(await lockRefreshToken(holder, hashToken(token))).toMatchObject({ sessionId, userId: 1, used: false });
      const other = await db.transaction();
      try {
        // What an insert referencing the user or the session takes for its foreign-key check: granted at once.
        await other.raw('select id from users where id = 1 for key share nowait');
        await other.raw('select id from sessions where id = ? for key share nowait', [sessionId]);
        // A second refresh of the same token must wait for the first.
        await expect(other.raw('select token_hash from refresh_tokens where token_hash = ? for update nowait', [hashToken(token)])).rejects.toMatchObject({
          code: '55P03',
        });
      } finally {
        await other.rollback();
      }
    } finally {
      await holder.rollback();
    }
  });
});
