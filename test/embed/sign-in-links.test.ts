/**
 * The library's sign-in links (openPortcullis): the same flow as the HTTP routes, with the mail sent
 * through a real SMTP server in this process and the token taken from the mail that arrived.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidSignInLinkError, openPortcullis, type PortcullisAuth } from '../../src/index.js';
import { makeTempDir, TEST_SECRET_KEY } from '../helpers/server.js';
import { selfSignedCertificate, SMTP_PASSWORD, SMTP_USER, startSmtpReceiver, type SmtpReceiver } from '../helpers/smtp-receiver.js';

describe('openPortcullis: requestSignInLink and signInWithLink', () => {
  let receiver: SmtpReceiver;
  let auth: PortcullisAuth;
  before(async () => {
    receiver = await startSmtpReceiver({ certificate: selfSignedCertificate(), plain: true });
    auth = await openPortcullis({
      secretKey: TEST_SECRET_KEY,
      database: { url: `sqlite:${join(makeTempDir(), 'auth.db')}` },
      settings: {
        SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${receiver.port}?tls=optional`,
        MAIL_FROM: 'no-reply@portcullis.test',
        PUBLIC_URL: 'https://app.portcullis.test',
        MAIL_POLL_SECONDS: '1',
        SIGN_IN_LINKS: 'on',
      },
    });
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
