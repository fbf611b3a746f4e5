import { userStoreContract } from '../contract/user-store-contract.js';
import { MemoryUserStore } from './memory-user-store.js';

userStoreContract('MemoryUserStore', async () => ({ store: new MemoryUserStore() }));
