import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readSettings, SETTINGS, type SettingName } from './settings.js';
import type { Setting } from './setting-types.js';

const ENTRIES = Object.entries(SETTINGS) as Array<[SettingName, Setting<unknown>]>;

describe('the table of settings', () => {
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
