/**
 * Enumeration resistance for an imported hash (issue 18): a wrong password for a user whose hash
 * came from Keycloak (pbkdf2-sha256 at Keycloak's default 27,500 iterations, cheaper than the
 * dummy argon2id verification of an unknown user) takes statistically the same time as a login
 * for an unknown user, by the bound of enumeration.test.ts: the cheaper verification is padded to
 * the dummy's recent median (core/passwords/verification-padding.ts). The user is imported from
 * test/fixtures/import-sources/keycloak-realm.json through the Keycloak source.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { keycloakSource } from '../../src/core/users/import-sources/keycloak-source.js';
import { importUsers } from '../../src/core/users/user-import.js';
import { formPost, startTestServer, type TestServer, UNTHROTTLED } from '../helpers/server.js';
import { median, probabilityLess } from '../helpers/timing-stats.js';

describe('POST /token enumeration resistance for an imported Keycloak hash', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ...UNTHROTTLED });
    const text = readFileSync(new URL('../fixtures/import-sources/keycloak-realm.json', import.meta.url), 'utf8');
    const { records } = keycloakSource.read(text, { nowMs: Date.now() });
    const report = await importUsers(server.storage.users, systemClock, records, { skipInvalid: true });
    assert.equal(report.imported, 3);
    assert.match((await server.storage.users.findByKey('kim'))!.passwordHash, /^keycloak-pbkdf2-sha256\$27500\$/);
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
    await attemptMs('kim');
    await attemptMs('no-such-user');
    for (let round = 0; round < 40; round += 1) {
      // Interleaved, in random order, so drift and noise fall on both alike.
      if (Math.random() < 0.5) {
        imported.push(await attemptMs('kim'));
        unknown.push(await attemptMs('no-such-user'));
      } else {
        unknown.push(await attemptMs('no-such-user'));
        imported.push(await attemptMs('kim'));
      }
    }
    const auc = probabilityLess(unknown, imported);
    const ratio = median(unknown) / median(imported);
    const summary = `median unknown ${median(unknown).toFixed(2)} ms, imported ${median(imported).toFixed(2)} ms, P(unknown < imported) = ${auc.toFixed(2)}`;
    // The bound of enumeration.test.ts. Without the padding the PBKDF2 user answers in about half the dummy's time.
    assert.ok(auc > 0.2 && auc < 0.8, summary);
    assert.ok(ratio > 0.5 && ratio < 2, summary);
  });
});
