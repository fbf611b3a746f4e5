#!/usr/bin/env node
// A client of POST /token that knows the login challenge (docs/SECURITY.md#the-login-challenge).
// When a throttle refuses the attempt, the 429 carries a proof-of-work `challenge`; solving it
// and sending the same request again with `challenge_solution` lets it through to the password
// check. Clients that do not know the challenge keep the old behaviour: 429 with Retry-After.
//
//   node examples/challenge-client/login.mjs http://127.0.0.1:8000 alice 'her password'
//
// It prints the token response. altcha-lib is a dependency of portcullis; elsewhere: npm install altcha-lib.
// In a browser, the same solver runs on WebCrypto (altcha-lib/algorithms/web/pbkdf2), or use the ALTCHA widget.
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';

const [base, username, password] = process.argv.slice(2);
if (!base || !username || password === undefined) {
  console.error('usage: login.mjs BASE_URL USERNAME PASSWORD');
  process.exit(2);
}

async function token(fields) {
  const response = await fetch(new URL('token', base.endsWith('/') ? base : `${base}/`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, ...fields }),
  });
  return { status: response.status, body: await response.json() };
}

let reply = await token({});
if (reply.status === 429 && reply.body.challenge) {
  const { challenge } = reply.body;
  console.error(`throttled: solving the login challenge (level ${challenge.parameters.data?.level ?? 0})...`);
  const started = performance.now();
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('could not solve the challenge');
  console.error(`solved in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  reply = await token({ challenge_solution: Buffer.from(JSON.stringify({ challenge, solution })).toString('base64') });
}
console.log(JSON.stringify(reply.body, null, 2));
process.exitCode = reply.status === 200 ? 0 : 1;
