/** The SQL AuditStore through the AuditStore contract on every test database (test/helpers/sql-dialects.ts). */
import { testDialects } from '../../../test/helpers/sql-dialects.js';
import { auditStoreContract } from '../contract/audit-store-contract.js';
import { SqlAuditStore } from './audit-store.js';

for (const { name, skip, open } of await testDialects()) {
  auditStoreContract(
    `SqlAuditStore on ${name}`,
    async () => {
      const database = await open();
      return { store: new SqlAuditStore(database.dialect), close: () => database.close() };
    },
    { skip },
  );
}
