/**
 * Signing key rotation end to end over real HTTP and a real SQLite file:
 * a rotation keeps every earlier token valid and signs with the key that was
 * already published; an early rotation is refused; retiring a key refuses
 * its tokens at once; housekeeping (tick, with a fixed clock on a second
 * connection, as another instance would be) drops a retired key once its
 * tokens have expired and rotates on schedule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SYSTEM } from '../../src/core/action-context.js';
import { AuditLog } from '../../src/core/audit/audit-log.js';
import { fixedClock } from '../../src/core/clock.js';
import { InvalidRequestError, NotFoundError } from '../../src/core/errors.js';
import { KeyService } from '../../src/core/keys/key-service.js';
import type { SigningKeyRecord } from '../../src/core/keys/signing-key.js';
import { SealedBox } from '../../src/core/sealed-box.js';
import { openStorage, type SqlStorage } from '../../src/storage/sql/open-storage.js';
import { assertAccessRefused, meStatus } from '../helpers/lifecycle.js';
import { login, TEST_SECRET_KEY, type TestServer } from '../helpers/server.js';
import { fetchJwks, headerOf, startOnOwnUrl } from '../helpers/signing-keys.js';
import { eventually } from '../helpers/wait.js';

const PASSWORD = 'alice-password-1';
const ALG = 'ES256';

function byState(keys: readonly SigningKeyRecord[], state: SigningKeyRecord['state']): SigningKeyRecord[] {
  return keys.filter((key) => key.state === state);
}

describe('signing key rotation', () => {
  let server: TestServer;
  const keys = () => server.portcullis.keys!;
  const kidOf = (token: string) => headerOf(token).kid as string;
  const publishedKids = async () => (await fetchJwks(server)).keys.map((key) => key.kid).sort();
  const newToken = () => login(server, 'alice', PASSWORD);

  before(async () => {
    server = await startOnOwnUrl({ ALGORITHM: ALG });
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me'] });
  });
  after(() => server.stop());

  it('keeps earlier tokens valid, signs with the already published next key, and refuses an early rotation', async () => {
    const before = await keys().list();
    const [oldCurrent] = byState(before, 'current');
    const [oldNext] = byState(before, 'next');
    assert.ok(oldCurrent && oldNext);
    const publishedBefore = await publishedKids();
    assert.ok(publishedBefore.includes(oldNext.kid), 'the next key is published before it signs');
    const earlier = await newToken();
    assert.equal(kidOf(earlier), oldCurrent.kid);

    const result = await keys().rotate(SYSTEM, { force: true });
    assert.equal(result.rotated, true);
    assert.equal(result.current, oldNext.kid);
    assert.equal(result.retired, oldCurrent.kid);
    assert.ok(result.next && result.next !== oldCurrent.kid && result.next !== oldNext.kid);

    assert.equal(await meStatus(server, earlier), 200, 'a token signed before the rotation still works');
    const later = await newToken();
    assert.equal(kidOf(later), oldNext.kid, 'the former next key signs');
    assert.equal(await meStatus(server, later), 200);

    const after = await keys().list();
    assert.deepEqual(
      byState(after, 'retired').map((key) => key.kid),
      [oldCurrent.kid],
    );
    assert.deepEqual(
      byState(after, 'current').map((key) => key.kid),
      [oldNext.kid],
    );
    assert.deepEqual(
      byState(after, 'next').map((key) => key.kid),
      [result.next],
    );
    assert.deepEqual(await publishedKids(), [oldCurrent.kid, oldNext.kid, result.next].sort(), 'retired, current and next are published');

    // The new next key was published a moment ago: resource servers may not have it cached yet.
    await assert.rejects(keys().rotate(SYSTEM), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /Try again in \d+ s/);
      assert.match(error.message, /cache the JWKS for 300 s/);
      return true;
    });
    assert.deepEqual(
      (await keys().list()).map((key) => [key.kid, key.state]),
      after.map((key) => [key.kid, key.state]),
      'nothing moved',
    );
    assert.equal(kidOf(await newToken()), oldNext.kid);

    const audit = await server.portcullis.audit.list({ type: 'key.rotated', limit: 10 });
    assert.equal(audit.events.length, 1, 'the refused rotation is not recorded as one');
    assert.equal(audit.events[0]!.actor, 'system');
  });

  it('retiring a retired key refuses the tokens it signed at once and unpublishes it', async () => {
    const [current] = byState(await keys().list(), 'current');
    const oldToken = await newToken();
    assert.equal(kidOf(oldToken), current!.kid);
    await keys().rotate(SYSTEM, { force: true });
    assert.equal(await meStatus(server, oldToken), 200, 'still valid while its key is retired');
    await keys().retire(current!.kid, SYSTEM);
    await assertAccessRefused(server, oldToken, 'a token of a retired-then-removed key');
    assert.ok(!(await publishedKids()).includes(current!.kid), 'the key left the JWKS');
    assert.ok(!(await keys().list()).some((key) => key.kid === current!.kid), 'the key left the store');
    assert.equal(await meStatus(server, await newToken()), 200, 'new logins are unaffected');

    await assert.rejects(keys().retire('no-such-kid', SYSTEM), NotFoundError);
  });

  it('retiring the current key (a compromise) refuses its tokens at once and promotes the next key', async () => {
    const keysBefore = await keys().list();
    const [current] = byState(keysBefore, 'current');
    const [next] = byState(keysBefore, 'next');
    const signedByCompromised = await newToken();
    assert.equal(kidOf(signedByCompromised), current!.kid);

    await keys().retire(current!.kid, SYSTEM);
    await assertAccessRefused(server, signedByCompromised, 'a token of the compromised key');
    assert.ok(!(await publishedKids()).includes(current!.kid), 'the compromised key left the JWKS');
    const replacement = await newToken();
    assert.equal(kidOf(replacement), next!.kid, 'the next key signs now');
    assert.equal(await meStatus(server, replacement), 200);
    assert.equal(byState(await keys().list(), 'next').length, 1, 'a new next key is published');
  });

  it('retiring the next key publishes a fresh one', async () => {
    const [next] = byState(await keys().list(), 'next');
    await keys().retire(next!.kid, SYSTEM);
    const [fresh] = byState(await keys().list(), 'next');
    assert.ok(fresh && fresh.kid !== next!.kid);
    const published = await publishedKids();
    assert.ok(published.includes(fresh.kid));
    assert.ok(!published.includes(next!.kid));
  });

  describe('housekeeping by another instance (KeyService.tick with a fixed clock on its own connection)', () => {
    let other: SqlStorage;
    const serviceAt = (startMs: number, rotationIntervalMs = 0) => {
      const clock = fixedClock(startMs);
      const { config } = server;
      const service = new KeyService(
        other.keys,
        new SealedBox(TEST_SECRET_KEY, 'signing-key/v1'),
        clock,
        {
          algorithm: ALG,
          // As the server computes it: the token lifetime, the clock tolerance and a minute.
          tokenLifetimeMs: (config.accessTokenTtlSeconds + config.clockToleranceSeconds + 60) * 1000,
          jwksMaxAgeMs: config.jwksMaxAgeSeconds * 1000,
          rotationIntervalMs,
        },
        new AuditLog(other.audit, clock),
        // As another instance does: on PostgreSQL it tells the others; on SQLite they see the file change.
        async () => other.bus?.publish({ kind: 'keys' }),
      );
      return { clock, service };
    };

    before(() => {
      other = openStorage(server.config.database);
    });
    after(() => other.close());

    it('drops a retired key only after every token it signed has expired', async () => {
      const signedByOld = await newToken();
      const oldKid = kidOf(signedByOld);
      await keys().rotate(SYSTEM, { force: true });
      const retired = (await keys().list()).find((key) => key.kid === oldKid)!;
      assert.equal(retired.state, 'retired');
      const ttlMs = server.config.accessTokenTtlSeconds * 1000;

      // Its last token expires ttl after the retirement (plus the clock tolerance): until then it stays.
      const { clock, service } = serviceAt(retired.retiredAt! + ttlMs + server.config.clockToleranceSeconds * 1000);
      await service.tick(SYSTEM);
      assert.ok(
        (await keys().list()).some((key) => key.kid === oldKid),
        'kept while its tokens may be alive',
      );
      assert.equal(await meStatus(server, signedByOld), 200);

      clock.advance(61_000);
      const others = (await keys().list()).filter((key) => key.kid !== oldKid).map((key) => [key.kid, key.state]);
      await service.tick(SYSTEM);
      const remaining = await keys().list();
      assert.ok(!remaining.some((key) => key.kid === oldKid), 'removed once they have all expired');
      assert.deepEqual(
        remaining.map((key) => [key.kid, key.state]),
        others.filter(([kid]) => remaining.some((key) => key.kid === kid)),
      );
      assert.equal(byState(remaining, 'current').length, 1);
      assert.equal(byState(remaining, 'next').length, 1);
      await eventually(async () => !(await publishedKids()).includes(oldKid), 'the server unpublishes the dropped key');
    });

    it('rotates on schedule once the current key is KEY_ROTATION_DAYS old', async () => {
      const day = 86_400_000;
      const keysBefore = await keys().list();
      const [current] = byState(keysBefore, 'current');
      const [next] = byState(keysBefore, 'next');
      const { clock, service } = serviceAt(current!.activatedAt! + day - 1_000, day);
      await service.tick(SYSTEM);
      assert.equal(byState(await keys().list(), 'current')[0]!.kid, current!.kid, 'not yet');

      clock.advance(2_000);
      await service.tick(SYSTEM);
      const keysAfter = await keys().list();
      assert.equal(byState(keysAfter, 'current')[0]!.kid, next!.kid);
      assert.ok(byState(keysAfter, 'retired').some((key) => key.kid === current!.kid));
      await eventually(async () => kidOf(await newToken()) === next!.kid, 'the server signs with the promoted key');
    });
  });
});
