import { openStorage } from '../../storage/sql/open-storage.js';
import { configFromEnv } from '../context.js';

export async function migrateCommand(): Promise<void> {
  const config = configFromEnv(process.env, { secretKeyRequired: false });
  const storage = openStorage(config.database, { dataDir: config.dataDir });
  try {
    const { applied, current } = await storage.migrate();
    console.log(
      applied.length === 0
        ? `Database is up to date (schema ${current ?? 'empty'}).`
        : `Applied ${applied.length} migration(s): ${applied.join(', ')}. Schema is now ${current}.`,
    );
  } finally {
    await storage.close();
  }
}
