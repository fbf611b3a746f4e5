import { outboxStoreContract } from '../contract/outbox-store-contract.js';
import { MemoryOutboxStore } from './memory-outbox-store.js';

outboxStoreContract('MemoryOutboxStore', async () => ({ store: new MemoryOutboxStore() }));
