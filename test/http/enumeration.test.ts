/**
 * Enumeration resistance: POST /token for an unknown user and for a known
 * user with a wrong password are indistinguishable in status, body, headers
 * and, statistically, time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formPost, startTestServer, type TestServer, UNTHROTTLED } from '../helpers/server.js';
import { median, probabilityLess } from '../helpers/timing-stats.js';

const VARYING_HEADERS = new Set(['date', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit', 'retry-after']);

describe('POST /token enumeration resistance', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      // Nothing may throttle this test's own attempts: it measures the answer, not the defences.
      ...UNTHROTTLED,
    });
    await server.portcullis.users.create({ username: 'known-user', password: 'the-right-password-1' });
  });
  after(() => server.stop());

  async function attempt(username: string): Promise<{ ms: number; response: Response; body: string }> {
    const started = process.hrtime.bigint();
    const response = await formPost(server, '/token', { username, password: 'a-wrong-password' });
    const body = await response.text();
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, response, body };
  }

  it('answers both with the same status, body and headers', async () => {
    const known = await attempt('known-user');
    const unknown = await attempt('no-such-user');
    assert.equal(unknown.response.status, 401);
    assert.equal(unknown.response.status, known.response.status);
    assert.equal(unknown.body, known.body);
    const headers = (response: Response) => [...response.headers.entries()].filter(([name]) => !VARYING_HEADERS.has(name)).sort();
    assert.deepEqual(headers(unknown.response), headers(known.response));
  });

  it('takes statistically the same time for both', async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    await attempt('known-user');
    await attempt('no-such-user');
    for (let round = 0; round < 40; round += 1) {
      // Interleaved, in random order, so drift and noise fall on both alike.
      if (Math.random() < 0.5) {
        known.push((await attempt('known-user')).ms);
        unknown.push((await attempt('no-such-user')).ms);
      } else {
        unknown.push((await attempt('no-such-user')).ms);
        known.push((await attempt('known-user')).ms);
      }
    }
    const auc = probabilityLess(unknown, known);
    const ratio = median(unknown) / median(known);
    const summary = `median unknown ${median(unknown).toFixed(2)} ms, known ${median(known).toFixed(2)} ms, P(unknown < known) = ${auc.toFixed(2)}`;
    // Without the dummy hash an unknown user answers in ~1 ms against ~16 ms: AUC ≈ 1 and ratio ≈ 0.06.
    // The ranks (AUC) are what judge; the medians' bound is wide because on a 2-core machine shared with
    // another test file a hash waits behind that file's hashes now and then, which moves one median of 40
    // by a third (seen in CI: AUC 0.57, medians 27.8 and 38.8 ms), while a missing dummy hash moves it 16-fold.
    assert.ok(auc > 0.2 && auc < 0.8, summary);
    assert.ok(ratio > 0.5 && ratio < 2, summary);
  });
});
