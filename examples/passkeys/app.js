// The passkeys example's page script (docs: README "Passkeys"; examples/passkeys/server.ts serves
// it beside Portcullis, on one origin). It speaks Portcullis's HTTP API with fetch and lets
// @simplewebauthn/browser talk to the authenticator. Every step's outcome is shown in #result and
// kept in window.portcullisExample for the test that drives this page.
/* global window, document, SimpleWebAuthnBrowser */
'use strict';

const state = { accessToken: undefined, mfaToken: undefined, last: undefined };
window.portcullisExample = state;

function show(step, status, body) {
  state.last = { step, status, body };
  document.getElementById('result').textContent = `${step}: ${status}\n${JSON.stringify(body, null, 2)}`;
}

async function post(path, body, headers = {}) {
  const response = await fetch(path, {
    method: 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: body === undefined ? undefined : new URLSearchParams(body),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

async function postJson(path, body, headers = {}) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

/** A /token answer: tokens (signed in), or mfa_required (a second step: a passkey, or a code). */
async function tokenAnswer(step, answer) {
  if (answer.status === 200) {
    state.accessToken = answer.body.access_token;
    const claims = JSON.parse(atob(answer.body.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    show(step, 200, { signed_in_as: claims.sub, amr: claims.amr, acr: claims.acr });
    return;
  }
  if (answer.status === 401 && answer.body.error === 'mfa_required') {
    state.mfaToken = answer.body.mfa_token;
    if (answer.body.webauthn) {
      show(step, 401, { second_step: 'webauthn' });
      const assertion = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: answer.body.webauthn });
      const grant = {
        grant_type: 'urn:portcullis:params:oauth:grant-type:mfa',
        mfa_token: state.mfaToken,
        webauthn_response: JSON.stringify(assertion),
      };
      return tokenAnswer('second step (passkey)', await post('/token', grant));
    }
    document.getElementById('otp-form').hidden = false;
  }
  show(step, answer.status, answer.body);
}

async function run(step, action) {
  try {
    await action();
  } catch (error) {
    show(step, 'error', { name: error.name, message: error.message });
  }
}

document.getElementById('password-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  run('password', async () =>
    tokenAnswer('password', await post('/token', { username: form.get('username'), password: form.get('password') })),
  );
});

document.getElementById('otp-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const grant = {
    grant_type: 'urn:portcullis:params:oauth:grant-type:mfa',
    mfa_token: state.mfaToken,
    otp: new FormData(event.target).get('otp'),
  };
  run('second step (code)', async () => tokenAnswer('second step (code)', await post('/token', grant)));
});

document.getElementById('passkey-login').addEventListener('click', () => {
  run('passkey', async () => {
    const started = await post('/signin/passkey');
    if (started.status !== 200) return show('passkey', started.status, started.body);
    const assertion = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: started.body.options });
    const grant = { grant_type: 'urn:portcullis:params:oauth:grant-type:passkey', webauthn_response: JSON.stringify(assertion) };
    return tokenAnswer('passkey', await post('/token', grant));
  });
});

document.getElementById('add-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  run('add a passkey', async () => {
    const auth = { authorization: `Bearer ${state.accessToken}` };
    const started = await postJson(
      '/users/me/factors/webauthn',
      { current_password: form.get('current_password'), name: form.get('name') },
      auth,
    );
    if (started.status !== 201) return show('add a passkey', started.status, started.body);
    const registration = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON: started.body.options });
    const confirmed = await postJson(`/users/me/factors/webauthn/${started.body.id}/confirm`, { response: registration }, auth);
    show('add a passkey', confirmed.status, confirmed.body);
  });
});
