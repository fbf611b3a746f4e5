import { randomUUID } from 'node:crypto';
import { sessionStoreContract } from '../contract/session-store-contract.js';
import { MemorySessionStore } from './memory-session-store.js';

sessionStoreContract('MemorySessionStore', async () => {
  const store = new MemorySessionStore();
  return { store, feed: store.revocations, addUser: async () => randomUUID() };
});
