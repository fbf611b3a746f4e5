/** The SQL PasswordResetStore on every test database: a token commits with its mail or not at all; a use is single. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { SqlOutboxStore } from './outbox-store.js';
import { SqlPasswordResetStore } from './password-reset-store.js';
import { SqlUserStore } from './user-store.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');

for (const { name, skip, open } of await testDialects()) {
  describe(`SqlPasswordResetStore on ${name}`, { skip: skip ?? false }, () => {
    it('writes a token with its mail; of concurrent uses one wins; a use voids the other tokens; expiry holds', async () => {
      const database = await open();
      try {
        const users = new SqlUserStore(database.dialect);
        const resets = new SqlPasswordResetStore(database.dialect);
        const outbox = new SqlOutboxStore(database.dialect);
        const user = await users.create(
          { username: 'u', usernameKey: 'u', email: 'U@Example.test', fullName: null, passwordHash: 'h', disabled: false, scopes: [] },
          T0,
        );
        assert.deepEqual(
          (await users.findByEmail('u@example.TEST', 2)).map((found) => found.id),
          [user.id],
        );
        const mail = (id: string) => ({
          id,
          kind: 'password_reset',
          to: 'U@Example.test',
          subject: 's',
          text: 't',
          html: 'h',
          createdAt: T0,
        });
        const token = (hash: string, expiresAt = T0 + 60_000) => ({
          id: randomUUID(),
          userId: user.id,
          tokenHash: hash,
          createdAt: T0,
          expiresAt,
          usedAt: null,
        });
        const mailA = randomUUID();
        await resets.issue(token('a'), mail(mailA));
        assert.equal((await outbox.find(mailA))?.status, 'queued', 'the mail committed with the token');
        // The mail's insert fails (its id is taken) after the token's: the token is rolled back with it.
        await assert.rejects(resets.issue(token('d'), mail(mailA)));
        assert.equal(await resets.find('d'), undefined, 'no token without its mail');
        await resets.issue(token('b'), mail(randomUUID()));
        await resets.issue(token('old', T0 + 1000), mail(randomUUID()));

        assert.equal(await resets.consume('old', T0 + 1000), false, 'expired at its expiry');
        const uses = await Promise.all([resets.consume('a', T0 + 2000), resets.consume('a', T0 + 2000)]);
        assert.deepEqual(uses.sort(), [false, true], 'one of two concurrent uses wins');
        assert.equal(await resets.consume('b', T0 + 2000), false, 'the use voided the other token');
        assert.equal((await resets.find('b'))?.usedAt, T0 + 2000);
        assert.equal(await resets.consume('unknown', T0), false);

        await resets.issue(token('c'), mail(randomUUID()));
        assert.equal(await resets.invalidateAll(user.id, T0 + 3000), 1);
        assert.equal(await resets.consume('c', T0 + 3000), false, 'a password change voided it');
      } finally {
        await database.close();
      }
    });
  });
}
