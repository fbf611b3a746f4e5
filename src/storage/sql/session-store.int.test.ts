/** The SQL SessionStore and revocation log through the SessionStore contract on every test database (test/helpers/sql-dialects.ts). */
import { randomUUID } from 'node:crypto';
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { sessionStoreContract } from '../contract/session-store-contract.js';
import { SqlAuditStore } from './audit-store.js';
import { SqlRevocationFeedStore } from './revocation-log.js';
import { SqlSessionStore } from './session-store.js';
import { SqlUserStore } from './user-store.js';

for (const { name, skip, open } of await testDialects()) {
  sessionStoreContract(
    `SqlSessionStore on ${name}`,
    async () => {
      const database = await open();
      const users = new SqlUserStore(database.dialect);
      return {
        store: new SqlSessionStore(database.dialect),
        feed: new SqlRevocationFeedStore(database.dialect),
        audit: new SqlAuditStore(database.dialect),
        async addUser() {
          const key = `user-${randomUUID()}`;
          const user = await users.create(
            { username: key, usernameKey: key, email: null, fullName: null, passwordHash: 'x', disabled: false, scopes: [] },
            0,
          );
          return user.id;
        },
        close: () => database.close(),
      };
    },
    { skip },
  );
}
