import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIsoTime } from './iso-time.js';

describe('parseIsoTime', () => {
  it('reads a date as UTC midnight', () => {
    assert.equal(parseIsoTime('2025-05-01'), Date.UTC(2025, 4, 1));
  });

  it('reads date-times with Z or an offset, with or without seconds and fractions', () => {
    assert.equal(parseIsoTime('2025-05-01T12:30:00Z'), Date.UTC(2025, 4, 1, 12, 30));
    assert.equal(parseIsoTime('2025-05-01T12:30Z'), Date.UTC(2025, 4, 1, 12, 30));
    assert.equal(parseIsoTime('2025-05-01T12:30:00.250Z'), Date.UTC(2025, 4, 1, 12, 30, 0, 250));
    assert.equal(parseIsoTime('2025-05-01T14:30:00+02:00'), Date.UTC(2025, 4, 1, 12, 30));
    assert.equal(parseIsoTime('2025-05-01T14:30:00+0200'), Date.UTC(2025, 4, 1, 12, 30));
  });

  it('refuses what is not such a date or date-time', () => {
    for (const value of [
      '',
      'yesterday',
      '1714557600',
      '2025-5-1',
      '2025-02-30',
      '2025-13-01',
      '2025-05-01T12:30:00',
      '2025-05-01T24:00:00Z',
      '2025-05-01T12:60:00Z',
      '2025-05-01 12:30:00Z',
      '2025-05-01T12:30:00Zjunk',
    ]) {
      assert.equal(parseIsoTime(value), undefined, value);
    }
  });
});
