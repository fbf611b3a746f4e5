/**
 * The one-time work the primary does before it forks: the migrations, and
 * with an asymmetric ALGORITHM the first signing keys. Workers started on an
 * empty database at the same moment would otherwise race: each would run the
 * migrations, and each would insert its own "current" key. Done once here,
 * the workers' own start finds the schema current and the keys present, and
 * only reads (ADR 0013).
 */
import type { PortcullisConfig } from '../config.js';
import { Argon2PasswordHasher } from '../../core/passwords/password-hasher.js';
import { WorkLimiter } from '../../core/passwords/work-limiter.js';
import { createPortcullis } from '../../core/portcullis.js';
import { openStorage, storageStores } from '../../storage/sql/open-storage.js';

export async function prepareStorage(config: PortcullisConfig): Promise<void> {
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    await storage.migrate();
    // The same start() the server runs, so the keys are made exactly as a single process would make them.
    // Nothing is hashed here: the hasher is only there because the library needs one.
    const hasher = new Argon2PasswordHasher(config.argon2, new WorkLimiter(1, 0));
    await createPortcullis({ config, stores: storageStores(storage), hasher }).start();
  } finally {
    await storage.close();
  }
}
