import { randomUUID } from 'node:crypto';
import { sessionStoreContract } from '../contract/session-store-contract.js';
import { MemoryAuditStore } from './memory-audit-store.js';
import { MemorySessionStore } from './memory-session-store.js';

sessionStoreContract('MemorySessionStore', async () => {
  const audit = new MemoryAuditStore();
  const store = new MemorySessionStore(audit);
  return { store, feed: store.revocations, audit, addUser: async () => randomUUID() };
});
