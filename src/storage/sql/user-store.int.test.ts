/** The SQL UserStore through the UserStore contract on every test database (test/helpers/sql-dialects.ts). */
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { userStoreContract } from '../contract/user-store-contract.js';
import { SqlUserStore } from './user-store.js';

for (const { name, skip, open } of await testDialects()) {
  userStoreContract(
    `SqlUserStore on ${name}`,
    async () => {
      const database = await open();
      return { store: new SqlUserStore(database.dialect), close: () => database.close() };
    },
    { skip },
  );
}
