/**
 * The only folder Portcullis creates is its data folder (DATA_DIR, ./data by
 * default), mode 0700, and only that folder: not the folders above it. A
 * missing parent is far more often a mistyped path than a wish, and creating
 * the tree would put the database somewhere nobody looks or backs up.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function ensureDataFolder(dataDir: string): void {
  try {
    mkdirSync(dataDir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code === 'ENOENT') {
      throw new TypeError(
        `the data folder ${dataDir} (DATA_DIR) cannot be created: ${dirname(resolve(dataDir))} does not exist; create it, or fix DATA_DIR`,
      );
    }
    throw error;
  }
}

/**
 * Before a SQLite file is opened (which creates the file): its folder is created if it is the data
 * folder, and must exist otherwise.
 */
export function prepareSqliteFolder(path: string, dataDir: string | undefined): void {
  const folder = dirname(path);
  if (dataDir !== undefined && resolve(folder) === resolve(dataDir)) {
    ensureDataFolder(dataDir);
    return;
  }
  if (!existsSync(folder)) {
    throw new TypeError(
      `the folder of the SQLite database ${path} does not exist (${folder}); create it, or fix the path: Portcullis creates only its data folder (DATA_DIR)`,
    );
  }
}
