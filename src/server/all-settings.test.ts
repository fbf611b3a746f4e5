import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_SETTINGS } from '../core/settings.js';
import type { Setting } from '../core/setting-types.js';
import { HTTP_SETTINGS } from '../http/settings.js';
import { MAIL_SETTINGS } from '../mail/settings.js';
import { STORAGE_SETTINGS } from '../storage/settings.js';
import { readAllSettings as readSettings, SETTINGS, type SettingName } from './config.js';
import { SERVER_SETTINGS } from './settings.js';

const ENTRIES = Object.entries(SETTINGS) as Array<[SettingName, Setting<unknown>]>;

describe('the table of settings', () => {
  it("joins every layer's table, each name declared by one layer only", () => {
    const layers = [SERVER_SETTINGS, STORAGE_SETTINGS, CORE_SETTINGS, HTTP_SETTINGS, MAIL_SETTINGS].map((table) => Object.keys(table));
    assert.deepEqual(layers.flat(), Object.keys(SETTINGS), "a name declared twice would silently take the later layer's declaration");
    assert.equal(new Set(layers.flat()).size, layers.flat().length);
  });

  it('names settings in capitals and documents each in one line', () => {
    for (const [name, setting] of ENTRIES) {
      assert.match(name, /^[A-Z][A-Z0-9_]*$/, name);
      assert.ok(setting.doc.length > 0 && !setting.doc.includes('\n'), name);
      assert.ok(setting.accepts.length > 0 && setting.defaultDoc.length > 0, name);
    }
  });

  it('computes every default from settings declared before it', () => {
    // readSettings throws when a default reads a setting declared after it.
    for (const env of [{}, { NODE_ENV: 'production' }]) {
      const problems: string[] = [];
      readSettings(env, problems);
      assert.deepEqual(problems, []);
    }
  });

  it('takes the default for an empty variable, and for a wrong one after saying why', () => {
    const problems: string[] = [];
    const settings = readSettings({ PORT: '', WORKERS: 'many', DATA_DIR: '/srv/p' }, problems);
    assert.equal(settings.PORT, 8000);
    assert.deepEqual(problems, ['WORKERS must be a whole number (got "many")']);
    assert.equal(settings.DATABASE_URL, 'sqlite:/srv/p/portcullis.db');
  });

  it('never echoes the value of a secret setting in a problem', () => {
    const secrets = ENTRIES.filter(([, setting]) => setting.secret).map(([name]) => name);
    assert.deepEqual(secrets.sort(), ['MAIL_WEBHOOK_SECRET', 'METRICS_TOKEN', 'SECRET_KEY', 'SMTP_URL']);
    for (const name of secrets) {
      const problems: string[] = [];
      readSettings({ [name]: 'hunter2!' }, problems);
      assert.ok(
        problems.every((problem) => !problem.includes('hunter2')),
        problems.join('\n'),
      );
    }
  });
});
