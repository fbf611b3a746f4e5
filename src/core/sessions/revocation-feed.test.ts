import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../server/config.js';
import { InvalidRequestError } from '../errors.js';
import type { RevocationFeedStore, RevocationPage } from '../ports.js';
import {
  LONGEST_CLOCK_TOLERANCE_SECONDS,
  LONGEST_TOKEN_LIFETIME_SECONDS,
  parseRevocationCursor,
  parseRevocationLimit,
  readRevocationFeed,
  REVOCATION_PAGE_MAX,
} from './revocation-feed.js';

const SECRET_KEY = 'revocation-feed-test-secret-key-0123456789';

describe('the revocation feed', () => {
  it('keeps log entries as long as the longest token lifetime and clock tolerance loadConfig accepts', () => {
    const longest = loadConfig({
      SECRET_KEY,
      ACCESS_TOKEN_EXPIRE_MINUTES: String(LONGEST_TOKEN_LIFETIME_SECONDS / 60),
      CLOCK_TOLERANCE_SECONDS: String(LONGEST_CLOCK_TOLERANCE_SECONDS),
    });
    assert.equal(longest.accessTokenTtlSeconds, LONGEST_TOKEN_LIFETIME_SECONDS);
    assert.equal(longest.clockToleranceSeconds, LONGEST_CLOCK_TOLERANCE_SECONDS);
    assert.throws(() => loadConfig({ SECRET_KEY, ACCESS_TOKEN_EXPIRE_MINUTES: String(LONGEST_TOKEN_LIFETIME_SECONDS / 60 + 1) }));
    assert.throws(() => loadConfig({ SECRET_KEY, CLOCK_TOLERANCE_SECONDS: String(LONGEST_CLOCK_TOLERANCE_SECONDS + 1) }));
  });

  it('takes a decimal cursor and refuses anything else with a clear invalid request', () => {
    assert.equal(parseRevocationCursor(undefined), undefined);
    assert.equal(parseRevocationCursor('0'), 0);
    assert.equal(parseRevocationCursor('123456789012345'), 123456789012345);
    for (const bad of ['', '-1', '01', '1.5', 'abc', ' 1', '1e3', '1234567890123456', '0x10']) {
      assert.throws(
        () => parseRevocationCursor(bad),
        (error: unknown) => error instanceof InvalidRequestError && /since must be a cursor/.test(error.message),
        bad,
      );
    }
  });

  it('takes a page size from 1 to the maximum', () => {
    assert.equal(parseRevocationLimit(undefined), REVOCATION_PAGE_MAX);
    assert.equal(parseRevocationLimit('1'), 1);
    assert.equal(parseRevocationLimit(String(REVOCATION_PAGE_MAX)), REVOCATION_PAGE_MAX);
    for (const bad of ['0', String(REVOCATION_PAGE_MAX + 1), '-5', 'ten', '']) {
      assert.throws(() => parseRevocationLimit(bad), InvalidRequestError, bad);
    }
  });

  it('asks the log for what revoked within the token lifetime, plus tolerance and margin, and splits the answer', async () => {
    const asked: Array<[number | undefined, number, number]> = [];
    const page: RevocationPage = {
      cursor: 42,
      full: false,
      more: true,
      sessions: [{ sessionId: 's1' }, { sessionId: 's2', minTokenVersion: 3 }, { sessionId: 's3' }],
    };
    const store: RevocationFeedStore = {
      read: async (since, revokedSinceMs, limit) => {
        asked.push([since, revokedSinceMs, limit]);
        return page;
      },
    };
    const answer = await readRevocationFeed(store, { accessTokenTtlSeconds: 1800, clockToleranceSeconds: 5 }, 10_000_000, '40', '3');
    assert.deepEqual(asked, [[40, 10_000_000 - 1865 * 1000, 3]]);
    assert.deepEqual(answer, {
      cursor: '42',
      full: false,
      more: true,
      retain_seconds: 1865,
      sids: ['s1', 's3'],
      versions: [{ sid: 's2', ver: 3 }],
    });
  });
});
