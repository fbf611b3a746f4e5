/** The SQL ClientStore through the ClientStore contract on every test database (test/helpers/sql-dialects.ts). */
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { clientStoreContract } from '../contract/client-store-contract.js';
import { SqlClientStore } from './client-store.js';

for (const { name, skip, open } of await testDialects()) {
  clientStoreContract(
    `SqlClientStore on ${name}`,
    async () => {
      const database = await open();
      return { store: new SqlClientStore(database.dialect), close: () => database.close() };
    },
    { skip },
  );
}
