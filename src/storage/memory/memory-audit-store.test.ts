import { auditStoreContract } from '../contract/audit-store-contract.js';
import { MemoryAuditStore } from './memory-audit-store.js';

auditStoreContract('MemoryAuditStore', async () => ({ store: new MemoryAuditStore() }));
