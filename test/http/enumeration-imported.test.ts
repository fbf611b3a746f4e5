/**
 * Enumeration resistance for an imported hash (issue 18): a wrong password for a user whose hash
 * came from Auth0 (bcrypt, here at cost 4: about 1 ms, far cheaper than the dummy argon2id
 * verification of an unknown user) takes statistically the same time as a login for an unknown
 * user, by the bound of enumeration.test.ts: the cheaper verification is padded to the dummy's
 * recent median (core/passwords/verification-padding.ts; without it this test fails: AUC ≈ 1).
 * The user is imported from test/fixtures/import-sources/auth0-export.ndjson through the Auth0 source.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { auth0Source } from '../../src/core/users/import-sources/auth0-source.js';
import { importUsers } from '../../src/core/users/user-import.js';
import { formPost, startTestServer, type TestServer, UNTHROTTLED } from '../helpers/server.js';
import { median, probabilityLess } from '../helpers/timing-stats.js';

describe('POST /token enumeration resistance for an imported Auth0 bcrypt hash', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ...UNTHROTTLED });
    const text = readFileSync(new URL('../fixtures/import-sources/auth0-export.ndjson', import.meta.url), 'utf8');
    const { records } = auth0Source.read(text, { nowMs: Date.now() });
    const report = await importUsers(server.storage.users, systemClock, records, { skipInvalid: true });
    assert.equal(report.imported, 3);
    assert.match((await server.storage.users.findByKey('alma'))!.passwordHash, /^\$2b\$04\$/);
  });
  after(() => server.stop());

  async function attemptMs(username: string): Promise<number> {
    const started = process.hrtime.bigint();
    const response = await formPost(server, '/token', { username, password: 'a-wrong-password' });
    await response.text();
    assert.equal(response.status, 401);
    return Number(process.hrtime.bigint() - started) / 1e6;
  }

  it('takes statistically the same time for a wrong password as for an unknown user', async () => {
    const imported: number[] = [];
    const unknown: number[] = [];
    await attemptMs('alma');
    await attemptMs('no-such-user');
    for (let round = 0; round < 40; round += 1) {
      // Interleaved, in random order, so drift and noise fall on both alike.
      if (Math.random() < 0.5) {
        imported.push(await attemptMs('alma'));
        unknown.push(await attemptMs('no-such-user'));
      } else {
        unknown.push(await attemptMs('no-such-user'));
        imported.push(await attemptMs('alma'));
      }
    }
    const auc = probabilityLess(unknown, imported);
    const ratio = median(unknown) / median(imported);
    const summary = `median unknown ${median(unknown).toFixed(2)} ms, imported ${median(imported).toFixed(2)} ms, P(unknown < imported) = ${auc.toFixed(2)}`;
    // The bound of enumeration.test.ts.
    assert.ok(auc > 0.2 && auc < 0.8, summary);
    assert.ok(ratio > 0.5 && ratio < 2, summary);
  });
});
