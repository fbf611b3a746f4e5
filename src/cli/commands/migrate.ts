import { migrateDatabase } from '../../server/admin.js';

export async function migrateCommand(): Promise<void> {
  const { applied, current } = await migrateDatabase();
  console.log(
    applied.length === 0
      ? `Database is up to date (schema ${current ?? 'empty'}).`
      : `Applied ${applied.length} migration(s): ${applied.join(', ')}. Schema is now ${current}.`,
  );
}
