import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeChange, decodeMessage, encodeChange, encodeConfirmation, encodeConfirmRequest } from './change-bus.js';

describe('change messages', () => {
  it('round-trip every kind with the sender', () => {
    for (const change of [
      { kind: 'user', id: 'u1' },
      { kind: 'session', id: 's1' },
      { kind: 'sessions-of-user', id: 'u1' },
      { kind: 'client', id: 'c1' },
      { kind: 'keys' },
    ] as const) {
      assert.deepEqual(decodeChange(encodeChange('me', change)), { origin: 'me', change });
    }
  });

  it('ignore what is not a change', () => {
    for (const payload of [
      '',
      'not json',
      '42',
      'null',
      '{"o":"x"}',
      '{"o":"x","kind":"user"}',
      '{"o":1,"kind":"keys"}',
      '{"o":"x","kind":"weather","id":"1"}',
    ]) {
      assert.equal(decodeChange(payload), undefined, payload);
    }
  });

  it('round-trip confirmation requests and answers, which are not changes', () => {
    assert.deepEqual(decodeMessage(encodeConfirmRequest('me', 'r1')), { origin: 'me', confirm: 'r1' });
    assert.deepEqual(decodeMessage(encodeConfirmation('you', 'r1')), { origin: 'you', confirmed: 'r1' });
    assert.equal(decodeChange(encodeConfirmRequest('me', 'r1')), undefined);
    assert.equal(decodeMessage('{"o":"x","confirm":1}'), undefined);
  });
});
