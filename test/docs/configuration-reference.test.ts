/**
 * docs/configuration.md's settings reference is the one generated from the table of settings
 * (each layer's settings.ts, joined in src/server/config.ts): a setting added, changed or documented there fails this test until
 * `npm run docs:config` is run. Reads files only: fast.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_NAMES } from '../../src/server/config.js';
import { BEGIN_MARKER, END_MARKER, renderSettingsTable, withSettingsReference } from '../../scripts/settings-reference.js';
import { REPO_ROOT } from '../helpers/cli.js';

const markdown = readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');

describe('docs/configuration.md', () => {
  it('holds the settings reference generated from the table of settings', () => {
    assert.ok(
      markdown === withSettingsReference(markdown),
      'docs/configuration.md is stale: its settings reference differs from the table of settings (src/*/settings.ts); run `npm run docs:config` and commit the result',
    );
  });

  it('has one row per setting', () => {
    const rows = [...renderSettingsTable().matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map(([, name]) => name);
    assert.deepEqual(rows, [...SETTING_NAMES]);
  });

  it('keeps the prose around the markers', () => {
    const edited = `intro\n${BEGIN_MARKER}\nold table\n${END_MARKER}\noutro\n`;
    assert.equal(withSettingsReference(edited), `intro\n${BEGIN_MARKER}\n${renderSettingsTable()}\n${END_MARKER}\noutro\n`);
    assert.throws(() => withSettingsReference('no markers'), /needs the markers/);
  });
});
