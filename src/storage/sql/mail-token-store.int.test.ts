/** The SQL MailTokenStore on every test database: a token commits with its mail (and the voiding of its earlier ones) or not at all; a use is single and of one purpose. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { MailTokenPurpose } from '../../core/ports.js';
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { SqlMailTokenStore } from './mail-token-store.js';
import { SqlOutboxStore } from './outbox-store.js';
import { SqlUserStore } from './user-store.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');

for (const { name, skip, open } of await testDialects()) {
  describe(`SqlMailTokenStore on ${name}`, { skip: skip ?? false }, () => {
    it('writes a token with its mail; of concurrent uses one wins; a use voids the other tokens of its purpose; expiry holds', async () => {
      const database = await open();
      try {
        const users = new SqlUserStore(database.dialect);
        const tokens = new SqlMailTokenStore(database.dialect);
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
        const token = (hash: string, expiresAt = T0 + 60_000, purpose: MailTokenPurpose = 'password_reset') => ({
          id: randomUUID(),
          userId: user.id,
          purpose,
          email: 'U@Example.test',
          tokenHash: hash,
          createdAt: T0,
          expiresAt,
          usedAt: null,
        });
        const mailA = randomUUID();
        await tokens.issue(token('a'), mail(mailA));
        assert.equal((await outbox.find(mailA))?.status, 'queued', 'the mail committed with the token');
        // The mail's insert fails (its id is taken) after the token's: the token is rolled back with it.
        await assert.rejects(tokens.issue(token('d'), mail(mailA)));
        assert.equal(await tokens.find('d'), undefined, 'no token without its mail');
        await tokens.issue(token('b'), mail(randomUUID()));
        await tokens.issue(token('old', T0 + 1000), mail(randomUUID()));
        await tokens.issue(token('link', T0 + 60_000, 'sign_in'), mail(randomUUID()));

        assert.equal(await tokens.consume('old', 'password_reset', T0 + 1000), undefined, 'expired at its expiry');
        assert.equal(await tokens.consume('a', 'sign_in', T0 + 2000), undefined, 'not for another purpose');
        const uses = await Promise.all([
          tokens.consume('a', 'password_reset', T0 + 2000),
          tokens.consume('a', 'password_reset', T0 + 2000),
        ]);
        assert.deepEqual(uses.map((used) => used?.tokenHash).sort(), ['a', undefined], 'one of two concurrent uses wins');
        assert.equal(await tokens.consume('b', 'password_reset', T0 + 2000), undefined, 'the use voided the other token');
        assert.equal((await tokens.find('b'))?.usedAt, T0 + 2000);
        assert.equal((await tokens.find('link'))?.usedAt, null, 'a token of another purpose is left alone');
        assert.equal(await tokens.consume('unknown', 'password_reset', T0), undefined);

        await tokens.issue(token('c'), mail(randomUUID()));
        assert.equal(await tokens.invalidateAll(user.id, 'password_reset', T0 + 3000), 1);
        assert.equal(await tokens.consume('c', 'password_reset', T0 + 3000), undefined, 'a password change voided it');
        assert.equal((await tokens.consume('link', 'sign_in', T0 + 3000))?.purpose, 'sign_in');

        // Pruning: everything expired or used before the cut-off, at most `limit` at a time.
        await tokens.issue(token('fresh', T0 + 10 * 60_000), mail(randomUUID()));
        assert.equal(await tokens.prune(T0 + 5 * 60_000, 2), 2);
        assert.equal(await tokens.prune(T0 + 5 * 60_000, 100), 3);
        assert.equal(await tokens.prune(T0 + 5 * 60_000, 100), 0);
        assert.equal((await tokens.find('fresh'))?.usedAt, null, 'an unused, unexpired token is kept');
      } finally {
        await database.close();
      }
    });

    it('voids the earlier unused tokens of the purpose in the issue when asked, and only then', async () => {
      const database = await open();
      try {
        const users = new SqlUserStore(database.dialect);
        const tokens = new SqlMailTokenStore(database.dialect);
        const user = await users.create(
          { username: 'v', usernameKey: 'v', email: 'v@example.test', fullName: null, passwordHash: 'h', disabled: false, scopes: [] },
          T0,
        );
        const mail = (id = randomUUID()) => ({
          id,
          kind: 'verify_email',
          to: 'v@example.test',
          subject: 's',
          text: 't',
          html: 'h',
          createdAt: T0,
        });
        const token = (hash: string, createdAt: number, purpose: MailTokenPurpose = 'email_verification') => ({
          id: randomUUID(),
          userId: user.id,
          purpose,
          email: 'v@example.test',
          tokenHash: hash,
          createdAt,
          expiresAt: T0 + 3_600_000,
          usedAt: null,
        });
        await tokens.issue(token('first', T0), mail());
        await tokens.issue(token('second', T0 + 1000), mail());
        assert.equal((await tokens.find('first'))?.usedAt, null, 'without the option, the earlier token stays usable');
        await tokens.issue(token('reset', T0 + 1000, 'password_reset'), mail());

        await tokens.issue(token('third', T0 + 2000), mail(), { voidEarlier: true });
        assert.equal((await tokens.find('first'))?.usedAt, T0 + 2000, "voided at the new token's creation");
        assert.equal((await tokens.find('second'))?.usedAt, T0 + 2000);
        assert.equal((await tokens.find('third'))?.usedAt, null, 'the new token is usable');
        assert.equal((await tokens.find('reset'))?.usedAt, null, 'a token of another purpose is left alone');

        // The mail's insert fails (its id is taken): the voiding is undone with the token.
        const taken = randomUUID();
        await tokens.issue(token('fourth', T0 + 3000), mail(taken));
        await assert.rejects(tokens.issue(token('fifth', T0 + 4000), mail(taken), { voidEarlier: true }));
        assert.equal(await tokens.find('fifth'), undefined);
        assert.equal((await tokens.find('third'))?.usedAt, null, 'the earlier tokens are voided in the same transaction, or not at all');
        assert.equal((await tokens.find('fourth'))?.usedAt, null);
      } finally {
        await database.close();
      }
    });
  });
}
