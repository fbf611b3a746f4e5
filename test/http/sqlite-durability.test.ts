/** SQLITE_SYNCHRONOUS: every commit synced by default; `normal` only when asked for. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { ON_POSTGRES } from '../helpers/postgres.js';
import { formPost, signUp, startTestServer } from '../helpers/server.js';

async function synchronousOf(env: Record<string, string>): Promise<number> {
  const server = await startTestServer(env);
  try {
    assert.equal((await signUp(server, 'durable', 'correct horse battery')).status, 201);
    assert.equal((await formPost(server, '/token', { username: 'durable', password: 'correct horse battery' })).status, 200);
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(server.storage.dialect.db);
    return rows[0]!.synchronous;
  } finally {
    await server.stop();
  }
}

describe('SQLite commit durability', { skip: ON_POSTGRES ? 'SQLite only' : undefined }, () => {
  it('syncs every commit by default (synchronous=FULL)', async () => {
    assert.equal(await synchronousOf({}), 2);
  });

  it('relaxes to synchronous=NORMAL only with SQLITE_SYNCHRONOUS=normal', async () => {
    assert.equal(await synchronousOf({ SQLITE_SYNCHRONOUS: 'normal' }), 1);
  });
});
