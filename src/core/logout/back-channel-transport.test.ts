import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { fixedClock } from '../clock.js';
import { BackChannelError, BackChannelTransport } from './back-channel-transport.js';
import { LOGOUT_DELIVERY_KIND, type ClaimedLogoutDelivery } from './logout-delivery.js';
import { BACKCHANNEL_LOGOUT_EVENT, type LogoutTokenSigner } from './logout-token.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

/** A receiver on 127.0.0.1 that answers each path's status (`/silent` never answers). */
async function receiver(): Promise<{ server: Server; base: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      if (request.url === '/silent') return;
      if (request.url === '/moved') return response.writeHead(302, { location: '/ok' }).end();
      response.writeHead(Number(request.url!.slice(1)) || 200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

describe('BackChannelTransport', () => {
  let target: Awaited<ReturnType<typeof receiver>>;
  let signer: LogoutTokenSigner;

  before(async () => {
    target = await receiver();
    const { privateKey } = await generateKeyPair('ES256');
    signer = { sign: (payload, typ) => new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ }).sign(privateKey) };
  });
  after(async () => {
    target.server.closeAllConnections();
    target.server.close();
  });

  const delivery = (path: string, attempts = 1): ClaimedLogoutDelivery => ({
    id: 'delivery-1',
    kind: LOGOUT_DELIVERY_KIND,
    clientId: 'pc_client',
    uri: `${target.base}${path}`,
    userId: 'user-1',
    browserSessionId: 'sid-1',
    createdAt: T0,
    attempts,
    leaseUntil: T0 + 30_000,
  });
  const transport = (timeoutMs = 2000) =>
    new BackChannelTransport({ signer, issuer: 'https://id.example', clock: fixedClock(T0 + 60_000), timeoutMs });

  it('POSTs logout_token as a form, signed when sent: the claims of Back-Channel Logout 1.0 §2.4, no nonce', async () => {
    await transport().send(delivery('/204'));
    const token = new URLSearchParams(target.bodies.at(-1)).get('logout_token')!;
    const claims = decodeJwt(token);
    assert.deepEqual(claims, {
      iss: 'https://id.example',
      aud: 'pc_client',
      iat: (T0 + 60_000) / 1000,
      exp: (T0 + 60_000) / 1000 + 120,
      jti: 'delivery-1',
      sub: 'user-1',
      sid: 'sid-1',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    });
  });

  it('tries again after a 5xx, 408, 429, a redirect or no answer in time; gives up on another 4xx', async () => {
    for (const [path, permanent] of [
      ['/500', false],
      ['/503', false],
      ['/408', false],
      ['/429', false],
      ['/moved', false],
      ['/400', true],
      ['/404', true],
    ] as const) {
      await assert.rejects(transport().send(delivery(path)), (error: unknown) => {
        assert.ok(error instanceof BackChannelError, path);
        assert.equal(error.permanent, permanent, path);
        return true;
      });
    }
    // A client that never answers holds the relay for the time-out only.
    await assert.rejects(transport(100).send(delivery('/silent')), (error: unknown) => {
      assert.ok(error instanceof BackChannelError);
      assert.equal(error.permanent, false);
      assert.match(error.message, /no answer within 100 ms/);
      return true;
    });
  });
});
