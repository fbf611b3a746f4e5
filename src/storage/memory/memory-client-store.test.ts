import { clientStoreContract } from '../contract/client-store-contract.js';
import { MemoryClientStore } from './memory-client-store.js';

clientStoreContract('MemoryClientStore', async () => ({ store: new MemoryClientStore() }));
