import { keyStoreContract } from '../contract/key-store-contract.js';
import { MemoryKeyStore } from './memory-key-store.js';

keyStoreContract('MemoryKeyStore', async () => ({ store: new MemoryKeyStore() }));
