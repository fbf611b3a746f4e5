/**
 * No lockout DoS: a botnet that exhausts an account's rate limit from many
 * addresses does not keep the owner out when the owner logs in from a device
 * that has logged in as that account before (the device cookie).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formPostWith } from '../helpers/lifecycle.js';
import { from, randomClientIp } from '../helpers/rate-limits.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'the owner knows this one';

describe('the per-account rate limit and the owner', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_ACCOUNT_BURST: '3',
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '1',
    });
    await server.portcullis.users.create({ username: 'owner', password: PASSWORD });
  });
  after(() => server.stop());

  function login(password: string, ip: string, cookie?: string): Promise<Response> {
    return formPostWith(server, '/token', { username: 'owner', password }, { ...from(ip), ...(cookie ? { cookie } : {}) });
  }

  it('throttles the account for strangers but lets the owner in from a known device', async () => {
    const home = randomClientIp();
    const first = await login(PASSWORD, home);
    assert.equal(first.status, 200);
    const cookie = /(portcullis_device=[^;]+)/.exec(first.headers.get('set-cookie') ?? '')?.[1];
    assert.ok(cookie, 'a successful login sets the device cookie');

    const botnet: number[] = [];
    for (let i = 0; i < 8; i += 1) botnet.push((await login(`stuffed-${i}`, randomClientIp())).status);
    assert.ok(botnet.includes(429), `the account is throttled for the botnet: ${botnet.join(' ')}`);

    const stranger = await login(PASSWORD, randomClientIp());
    assert.equal(stranger.status, 429, 'without the device cookie, the right password waits like everyone else');
    const owner = await login(PASSWORD, home, cookie);
    assert.equal(owner.status, 200, 'the owner on a known device gets in');
    const elsewhere = await login(PASSWORD, randomClientIp(), cookie);
    assert.equal(elsewhere.status, 200, 'also from another address');
  });

  it('does not let a device cookie of another account through', async () => {
    await server.portcullis.users.create({ username: 'other', password: 'another password 1' });
    const ip = randomClientIp();
    const theirs = await formPostWith(server, '/token', { username: 'other', password: 'another password 1' }, from(ip));
    const cookie = /(portcullis_device=[^;]+)/.exec(theirs.headers.get('set-cookie') ?? '')?.[1];
    assert.ok(cookie);
    const response = await login(PASSWORD, randomClientIp(), cookie);
    assert.equal(response.status, 429);
  });
});
