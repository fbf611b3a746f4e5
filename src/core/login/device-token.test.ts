import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../clock.js';
import { DEVICE_TOKEN_TTL_SECONDS, DeviceTokens } from './device-token.js';

const SECRET = 'device-token-test-secret-that-is-long-enough';

describe('DeviceTokens', () => {
  it('verifies a token for the account it was issued to, and keeps a given device id', () => {
    const tokens = new DeviceTokens(SECRET, fixedClock(1_700_000_000_000));
    const token = tokens.issue('alice');
    assert.match(token, /^[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/);
    const deviceId = tokens.verify(token, 'alice');
    assert.ok(deviceId);
    assert.equal(tokens.verify(tokens.issue('alice', deviceId), 'alice'), deviceId);
  });

  it('rejects a token for another account, under another key, altered, or malformed', () => {
    const clock = fixedClock(1_700_000_000_000);
    const tokens = new DeviceTokens(SECRET, clock);
    const token = tokens.issue('alice');
    assert.equal(tokens.verify(token, 'bob'), undefined);
    assert.equal(new DeviceTokens(`${SECRET}-other`, clock).verify(token, 'alice'), undefined);
    const [id, issued, mac] = token.split('.') as [string, string, string];
    assert.equal(tokens.verify(`${id}.${Number(issued) + 1}.${mac}`, 'alice'), undefined);
    assert.equal(tokens.verify(`${id.replace(/^./, id[0] === 'A' ? 'B' : 'A')}.${issued}.${mac}`, 'alice'), undefined);
    for (const junk of ['', 'x', `${token}.`, `${id}.${issued}`, token.replace('.', '..')]) {
      assert.equal(tokens.verify(junk, 'alice'), undefined, junk);
    }
    assert.equal(tokens.verify(undefined, 'alice'), undefined);
    assert.equal(tokens.verify(token, undefined), undefined);
  });

  it('expires after DEVICE_TOKEN_TTL_SECONDS', () => {
    const clock = fixedClock(1_700_000_000_000);
    const tokens = new DeviceTokens(SECRET, clock);
    const token = tokens.issue('alice');
    clock.advance((DEVICE_TOKEN_TTL_SECONDS - 1) * 1000);
    assert.ok(tokens.verify(token, 'alice'));
    clock.advance(2000);
    assert.equal(tokens.verify(token, 'alice'), undefined);
  });
});
