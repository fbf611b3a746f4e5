import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryAuditStore } from '../../storage/memory/memory-audit-store.js';
import { MemoryKeyStore } from '../../storage/memory/memory-key-store.js';
import type { ActionContext } from '../action-context.js';
import { AuditLog } from '../audit/audit-log.js';
import { fixedClock } from '../clock.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import { SealedBox } from '../sealed-box.js';
import { KeyService, type KeyServiceSettings } from './key-service.js';
import type { SigningKeyRecord } from './signing-key.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const SECRET = 'key-service-unit-tests-secret-key-0123456789ab';
const CLI: ActionContext = { actor: 'cli', ip: null };
const SETTINGS: KeyServiceSettings = { algorithm: 'EdDSA', tokenLifetimeMs: 960_000, jwksMaxAgeMs: 300_000, rotationIntervalMs: 0 };

function fixture(settings: Partial<KeyServiceSettings> = {}, secret = SECRET, store = new MemoryKeyStore()) {
  const clock = fixedClock(T0);
  const audit = new MemoryAuditStore();
  let changes = 0;
  const service = new KeyService(
    store,
    new SealedBox(secret, 'signing-key/v1'),
    clock,
    { ...SETTINGS, ...settings },
    new AuditLog(audit, clock),
    async () => {
      changes += 1;
    },
  );
  const states = async () => Object.fromEntries((await store.list()).map((key) => [key.kid, key.state]));
  const only = async (state: SigningKeyRecord['state']) => (await store.list()).filter((key) => key.state === state);
  return { clock, store, audit, service, states, only, changes: () => changes };
}

describe('KeyService', () => {
  it('ensures a current and a next key, once', async () => {
    const f = fixture();
    await f.service.ensure();
    const keys = await f.store.list();
    assert.deepEqual(keys.map((key) => key.state).sort(), ['current', 'next']);
    assert.ok(keys.every((key) => key.algorithm === 'EdDSA' && key.createdAt === T0));
    assert.equal((await f.only('current'))[0]?.activatedAt, T0);
    await f.service.ensure();
    assert.deepEqual(await f.store.list(), keys, 'nothing added the second time');
    assert.equal(f.changes(), 2);
  });

  it('retires the keys of another algorithm at start', async () => {
    const store = new MemoryKeyStore();
    const old = fixture({ algorithm: 'ES256' }, SECRET, store);
    await old.service.ensure();
    const f = fixture({}, SECRET, store);
    f.clock.advance(1000);
    await f.service.ensure();
    const keys = await store.list();
    assert.deepEqual(
      keys.filter((key) => key.algorithm === 'ES256').map((key) => [key.state, key.retiredAt]),
      [
        ['retired', T0 + 1000],
        ['retired', T0 + 1000],
      ],
    );
    assert.deepEqual(
      keys
        .filter((key) => key.algorithm === 'EdDSA')
        .map((key) => key.state)
        .sort(),
      ['current', 'next'],
    );
  });

  it("refuses to add keys it could not open with the servers' SECRET_KEY", async () => {
    const store = new MemoryKeyStore();
    await fixture({}, SECRET, store).service.ensure();
    await assert.rejects(fixture({}, `${SECRET}-other`, store).service.ensure(), /cannot be decrypted/);
  });

  it('rotates next to current and current to retired, not before the next key was published a JWKS max-age', async () => {
    const f = fixture();
    await f.service.ensure();
    const [current] = await f.only('current');
    const [next] = await f.only('next');
    await assert.rejects(f.service.rotate(CLI), InvalidRequestError);
    f.clock.advance(SETTINGS.jwksMaxAgeMs);
    const result = await f.service.rotate(CLI);
    assert.equal(result.rotated, true);
    assert.equal(result.current, next!.kid);
    assert.equal(result.retired, current!.kid);
    assert.deepEqual(await f.states(), { [current!.kid]: 'retired', [next!.kid]: 'current', [result.next!]: 'next' });
    assert.equal((await f.audit.list({ type: 'key.rotated', limit: 10 })).events.length, 1);
    await assert.rejects(f.service.rotate(CLI), InvalidRequestError, 'the new next key is young');
    assert.equal((await f.service.rotate(CLI, { force: true })).rotated, true);
  });

  it('retires a current key at once, the next one taking over; a next key is replaced', async () => {
    const f = fixture();
    await f.service.ensure();
    const [current] = await f.only('current');
    const [next] = await f.only('next');
    await f.service.retire(current!.kid, CLI);
    const states = await f.states();
    assert.equal(states[current!.kid], undefined, 'gone: tokens it signed are refused');
    assert.equal(states[next!.kid], 'current');
    const [replacement] = await f.only('next');
    await f.service.retire(replacement!.kid, CLI);
    assert.equal((await f.states())[replacement!.kid], undefined);
    assert.equal((await f.only('next')).length, 1);
    assert.equal((await f.only('current'))[0]?.kid, next!.kid);
    await assert.rejects(f.service.retire('missing', CLI), NotFoundError);
    assert.deepEqual((await f.audit.list({ type: 'key.retired', limit: 10 })).events.map((event) => event.details?.was).sort(), [
      'current',
      'next',
    ]);
  });

  it('removes retired keys once their tokens have expired, and rotates on schedule', async () => {
    const f = fixture({ rotationIntervalMs: 86_400_000 });
    await f.service.ensure();
    const [first] = await f.only('current');
    f.clock.advance(86_400_000);
    await f.service.tick(CLI);
    assert.equal((await f.states())[first!.kid], 'retired', 'rotated: the interval passed and the next key is old enough');
    f.clock.advance(SETTINGS.tokenLifetimeMs);
    await f.service.tick(CLI);
    assert.equal((await f.states())[first!.kid], 'retired', 'not yet: a token signed at the rotation may still be alive');
    f.clock.advance(1);
    await f.service.tick(CLI);
    assert.equal((await f.states())[first!.kid], undefined);
    assert.equal((await f.only('current')).length, 1);
  });

  it('leaves keys alone on a tick with no schedule', async () => {
    const f = fixture();
    await f.service.ensure();
    const before = await f.store.list();
    f.clock.advance(365 * 86_400_000);
    await f.service.tick(CLI);
    assert.deepEqual(await f.store.list(), before);
  });
});
