/** The SQL OutboxStore through the OutboxStore contract on every test database, and its in-transaction insert. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { outboxStoreContract } from '../contract/outbox-store-contract.js';
import { insertOutboxMessage, SqlOutboxStore } from './outbox-store.js';

for (const { name, skip, open } of await testDialects()) {
  outboxStoreContract(
    `SqlOutboxStore on ${name}`,
    async () => {
      const database = await open();
      return { store: new SqlOutboxStore(database.dialect), close: () => database.close() };
    },
    { skip },
  );

  describe(`insertOutboxMessage on ${name}`, { skip: skip ?? false }, () => {
    it('writes the message with the rest of a transaction, or not at all', async () => {
      const database = await open();
      try {
        const store = new SqlOutboxStore(database.dialect);
        const message = { id: randomUUID(), kind: 'test', to: 'a@example.test', subject: 's', text: 't', html: 'h', createdAt: 0 };
        const other = { ...message, id: randomUUID() };
        await assert.rejects(
          database.dialect.db.transaction().execute(async (trx) => {
            await insertOutboxMessage(trx, message);
            throw new Error('the rest failed');
          }),
          /the rest failed/,
        );
        assert.equal(await store.find(message.id), undefined, 'rolled back with the transaction');
        await database.dialect.db.transaction().execute((trx) => insertOutboxMessage(trx, other));
        assert.equal((await store.find(other.id))?.status, 'queued');
      } finally {
        await database.close();
      }
    });
  });
}
