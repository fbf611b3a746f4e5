/**
 * The library's sign-in links (openPortcullis): the same flow as the HTTP routes, with the mail sent
 * through a real SMTP server in this process and the token taken from the mail that arrived.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidSignInLinkError, type PortcullisAuth } from '../../src/index.js';
import { openMailingLibrary } from '../helpers/mail-server.js';
import type { SmtpReceiver } from '../helpers/smtp-receiver.js';

describe('openPortcullis: requestSignInLink and signInWithLink', () => {
  let receiver: SmtpReceiver;
  let auth: PortcullisAuth;
  before(async () => {
    ({ receiver, auth } = await openMailingLibrary({ SIGN_IN_LINKS: 'on' }));
  });
  after(async () => {
    await auth?.close();
    await receiver?.close();
  });

  it('mails a token that signs in once; an unknown account resolves alike and gets nothing', async () => {
    await auth.createUser({ username: 'lib-link', password: 'lib-link-password-1', email: 'lib-link@example.test' });
    // createUser sends a verification mail first, as POST /users does; the link is the mail after it.
    const [verification] = await receiver.arrived(1);
    assert.match(verification!.text ?? '', /verify-email\?token=/);
    await auth.requestSignInLink({ username: 'nobody-here' });
    await auth.requestSignInLink({ email: 'LIB-LINK@example.test' });
    await auth.core.signInLinks.settled();
    const [, mail] = await receiver.arrived(2);
    const token = /sign-in\?token=([A-Za-z0-9_-]+)/.exec(mail!.text ?? '')?.[1];
    assert.ok(token, mail!.text);
    assert.ok(mail!.text!.includes('https://app.portcullis.test/sign-in?token='));
    const tokens = await auth.signInWithLink(token, { ip: '203.0.113.7' });
    assert.ok(tokens.refresh_token, 'a session, as the password grant opens');
    const user = await auth.verifyRequest(`Bearer ${tokens.access_token}`);
    assert.equal(user.username, 'lib-link');
    await assert.rejects(auth.signInWithLink(token), InvalidSignInLinkError);
    assert.equal(receiver.received.length, 2, 'no mail for the unknown account');
    assert.equal((await auth.core.users.get('lib-link')).emailVerified, true, 'the link proved the address');
  });
});
