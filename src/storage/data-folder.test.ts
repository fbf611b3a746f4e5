import { mkdtempSync, rmSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureDataFolder, prepareSqliteFolder } from './data-folder.js';

describe('the data folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-data-folder-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates DATA_DIR, readable by its owner only, and accepts one that exists', () => {
    const dataDir = join(root, 'data');
    ensureDataFolder(dataDir);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    ensureDataFolder(dataDir);
  });

  it('does not create the folders above DATA_DIR', () => {
    const dataDir = join(root, 'no', 'such', 'data');
    assert.throws(
      () => ensureDataFolder(dataDir),
      (error: Error) => {
        assert.match(error.message, /the data folder .*no\/such\/data \(DATA_DIR\) cannot be created: .*no\/such does not exist/);
        return true;
      },
    );
    assert.equal(existsSync(join(root, 'no')), false);
  });

  it('creates the folder of a SQLite file only when it is the data folder', () => {
    const dataDir = join(root, 'default');
    prepareSqliteFolder(join(dataDir, 'portcullis.db'), dataDir);
    assert.equal(existsSync(dataDir), true);

    const elsewhere = join(root, 'elsewhere', 'deeper', 'x.db');
    assert.throws(
      () => prepareSqliteFolder(elsewhere, dataDir),
      /the folder of the SQLite database .*elsewhere\/deeper\/x\.db does not exist/,
    );
    assert.equal(existsSync(join(root, 'elsewhere')), false);

    mkdirSync(join(root, 'elsewhere', 'deeper'), { recursive: true });
    prepareSqliteFolder(elsewhere, dataDir);
  });
});
