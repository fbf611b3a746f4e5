/**
 * The generated HMAC key for installations without SECRET_KEY: 32 random
 * bytes, hex-encoded, in DATA_DIR/secret.key with mode 0600, created once and
 * reused. A key file that others can read is refused, not silently used.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDataFolder } from '../storage/data-folder.js';

export const SECRET_KEY_FILE = 'secret.key';

export function loadOrCreateSecretKey(dataDir: string): string {
  const path = join(dataDir, SECRET_KEY_FILE);
  ensureDataFolder(dataDir);
  try {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  }
  const key = readFileSync(path, 'utf8').trim();
  if (Buffer.byteLength(key, 'utf8') < 32) throw new Error(`${path} holds fewer than 32 bytes; delete it to have a new key made`);
  return key;
}
