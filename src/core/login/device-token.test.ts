import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../clock.js';
import { DEVICE_TOKEN_TTL_SECONDS, DeviceTokens } from './device-token.js';

const SECRET = 'device-token-test-secret-that-is-long-enough';

describe('DeviceTokens', () => {
  it('verifies a token for the account it was issued to, and keeps a given device id', () => {
    const tokens = new DeviceTokens(SECRET, fixedClock(1_700_000_000_000));
    const token = tokens.issue('alice', 0);
    assert.match(token, /^[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/);
    const deviceId = tokens.verify(token, 'alice', 0);
    assert.ok(deviceId);
    assert.equal(tokens.verify(tokens.issue('alice', 0, deviceId), 'alice', 0), deviceId);
  });

  it('is bound to the token version: a password change retires it', () => {
    const tokens = new DeviceTokens(SECRET, fixedClock(1_700_000_000_000));
    const token = tokens.issue('alice', 3);
    assert.ok(tokens.verify(token, 'alice', 3));
    assert.equal(tokens.verify(token, 'alice', 4), undefined);
    assert.equal(tokens.verify(token, 'alice', undefined), undefined);
  });

  it('rejects a token for another account, under another key, altered, or malformed', () => {
    const clock = fixedClock(1_700_000_000_000);
    const tokens = new DeviceTokens(SECRET, clock);
    const token = tokens.issue('alice', 0);
    assert.equal(tokens.verify(token, 'bob', 0), undefined);
    assert.equal(new DeviceTokens(`${SECRET}-other`, clock).verify(token, 'alice', 0), undefined);
    const [id, issued, mac] = token.split('.') as [string, string, string];
    assert.equal(tokens.verify(`${id}.${Number(issued) + 1}.${mac}`, 'alice', 0), undefined);
    assert.equal(tokens.verify(`${id.replace(/^./, id[0] === 'A' ? 'B' : 'A')}.${issued}.${mac}`, 'alice', 0), undefined);
    for (const junk of ['', 'x', `${token}.`, `${id}.${issued}`, token.replace('.', '..')]) {
      assert.equal(tokens.verify(junk, 'alice', 0), undefined, junk);
    }
    assert.equal(tokens.verify(undefined, 'alice', 0), undefined);
    assert.equal(tokens.verify(token, undefined, 0), undefined);
  });

  it('expires after DEVICE_TOKEN_TTL_SECONDS', () => {
    const clock = fixedClock(1_700_000_000_000);
    const tokens = new DeviceTokens(SECRET, clock);
    const token = tokens.issue('alice', 0);
    clock.advance((DEVICE_TOKEN_TTL_SECONDS - 1) * 1000);
    assert.ok(tokens.verify(token, 'alice', 0));
    clock.advance(2000);
    assert.equal(tokens.verify(token, 'alice', 0), undefined);
  });
});
