/**
 * A request with two `Authorization` headers is refused with 400
 * invalid_request, whatever the two say: Node keeps only the first of them,
 * so it would otherwise be judged by one header while a proxy, a log or a WAF
 * in front may have judged it by the other. Raw bytes over a real socket, so
 * the server sees exactly the headers sent: on the `/users/me` fast path,
 * on every bearer route, and for client authentication at /token, /revoke
 * and /introspect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuth } from '../helpers/lifecycle.js';
import { sendRaw } from '../helpers/raw-http.js';
import { login, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'two-headers-one-request-8';

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown>;
}

/** Sends the request exactly as given (header order and case kept) on its own connection. */
async function send(
  server: TestServer,
  method: string,
  path: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body = '',
): Promise<Answer> {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${new URL(server.url).host}`,
    ...headers.map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
  ];
  if (body !== '') lines.push('Content-Type: application/x-www-form-urlencoded', `Content-Length: ${Buffer.byteLength(body)}`);
  const { received } = await sendRaw(server.url, `${lines.join('\r\n')}\r\n\r\n${body}`);
  const [head = '', payload = ''] = received.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const answerHeaders: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    answerHeaders[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    headers: answerHeaders,
    body: payload === '' ? {} : (JSON.parse(payload) as Record<string, unknown>),
  };
}

describe('two Authorization headers in one request', () => {
  let server: TestServer;
  let userToken: string;
  let adminToken: string;
  let client: { readonly id: string; readonly secret: string };
  let other: { readonly id: string; readonly secret: string };

  before(async () => {
    server = await startTestServer();
    await server.portcullis.users.create({ username: 'alice', password: PASSWORD, scopes: ['me'] });
    await server.portcullis.users.create({ username: 'root', password: PASSWORD, scopes: ['admin'] });
    userToken = await login(server, 'alice', PASSWORD);
    adminToken = await login(server, 'root', PASSWORD);
    const created = await server.portcullis.clients.create('svc-one', ['read'], 'test');
    const second = await server.portcullis.clients.create('svc-two', ['read'], 'test');
    client = { id: created.client.id, secret: created.secret };
    other = { id: second.client.id, secret: second.secret };
  });
  after(() => server.stop());

  const assertRefused = (answer: Answer, label: string, oauth = false) => {
    assert.equal(answer.status, 400, `${label}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.detail, 'Duplicate Authorization header', label);
    if (oauth) {
      assert.equal(answer.body.error, 'invalid_request', label);
      assert.equal(answer.body.error_description, 'Duplicate Authorization header', label);
    }
  };

  it('GET /users/me: 400, although the fast path holds the token (the control, with one header, is 200)', async () => {
    const one = [['Authorization', `Bearer ${userToken}`]] as const;
    for (let i = 0; i < 2; i += 1) assert.equal((await send(server, 'GET', '/users/me', one)).status, 200, 'the control (and warm)');
    const answered = () => server.app.usersMeFastPath.answered;
    const answeredBefore = answered();
    for (const [label, headers] of [
      [
        'valid, then garbage',
        [
          ['Authorization', `Bearer ${userToken}`],
          ['Authorization', 'Bearer garbage'],
        ],
      ],
      [
        'garbage, then valid',
        [
          ['Authorization', 'Bearer garbage'],
          ['Authorization', `Bearer ${userToken}`],
        ],
      ],
      [
        'the same token twice',
        [
          ['Authorization', `Bearer ${userToken}`],
          ['Authorization', `Bearer ${userToken}`],
        ],
      ],
      [
        'names in other cases',
        [
          ['authorization', `Bearer ${userToken}`],
          ['AUTHORIZATION', `Bearer ${adminToken}`],
        ],
      ],
      [
        'one of them empty',
        [
          ['Authorization', `Bearer ${userToken}`],
          ['Authorization', ''],
        ],
      ],
    ] as const) {
      assertRefused(await send(server, 'GET', '/users/me', headers), label);
    }
    assert.equal(answered(), answeredBefore, 'none of them answered by the fast path');
  });

  it('every bearer route: 400, whichever token comes first, and nothing is done', async () => {
    for (const headers of [
      [
        ['Authorization', `Bearer ${adminToken}`],
        ['Authorization', `Bearer ${userToken}`],
      ],
      [
        ['Authorization', `Bearer ${userToken}`],
        ['Authorization', `Bearer ${adminToken}`],
      ],
    ] as const) {
      assertRefused(await send(server, 'GET', '/admin/users', headers), 'GET /admin/users');
      assertRefused(await send(server, 'GET', '/users/me/sessions', headers), 'GET /users/me/sessions');
      assertRefused(await send(server, 'POST', '/logout', headers), 'POST /logout');
    }
    assert.equal(
      (await send(server, 'GET', '/admin/users', [['Authorization', `Bearer ${adminToken}`]])).status,
      200,
      'no session was ended',
    );
    assert.equal((await send(server, 'GET', '/users/me', [['Authorization', `Bearer ${userToken}`]])).status, 200);
  });

  it('client authentication at /token, /revoke and /introspect: 400 invalid_request', async () => {
    const basic = (c: typeof client) => ['Authorization', basicAuth(c.id, c.secret).authorization] as const;
    const control = await send(server, 'POST', '/token', [basic(client)], 'grant_type=client_credentials');
    assert.equal(control.status, 200, JSON.stringify(control.body));
    for (const headers of [
      [basic(client), basic(other)],
      [basic(client), ['Authorization', 'Basic Og==']],
      [basic(client), ['Authorization', `Bearer ${userToken}`]],
    ] as const) {
      assertRefused(await send(server, 'POST', '/token', headers, 'grant_type=client_credentials'), 'POST /token', true);
      assertRefused(await send(server, 'POST', '/introspect', headers, `token=${userToken}`), 'POST /introspect', true);
      assertRefused(await send(server, 'POST', '/revoke', headers, `token=${userToken}`), 'POST /revoke', true);
    }
    assert.equal((await send(server, 'GET', '/users/me', [['Authorization', `Bearer ${userToken}`]])).status, 200, 'nothing was revoked');
  });
});
