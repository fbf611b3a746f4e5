/** The SQL KeyStore through the KeyStore contract on every test database (test/helpers/sql-dialects.ts). */
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { keyStoreContract } from '../contract/key-store-contract.js';
import { SqlKeyStore } from './key-store.js';

for (const { name, skip, open } of await testDialects()) {
  keyStoreContract(
    `SqlKeyStore on ${name}`,
    async () => {
      const database = await open();
      return { store: new SqlKeyStore(database.dialect), close: () => database.close() };
    },
    { skip },
  );
}
