/**
 * The library's password reset (openPortcullis): the same flow as the HTTP routes, with the mail
 * sent through a real SMTP server in this process and the token taken from the mail that arrived.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidResetTokenError, type PortcullisAuth } from '../../src/index.js';
import { openMailingLibrary } from '../helpers/mail-server.js';
import type { SmtpReceiver } from '../helpers/smtp-receiver.js';

describe('openPortcullis: requestPasswordReset and resetPassword', () => {
  let receiver: SmtpReceiver;
  let auth: PortcullisAuth;
  before(async () => {
    ({ receiver, auth } = await openMailingLibrary());
  });
  after(async () => {
    await auth?.close();
    await receiver?.close();
  });

  it('mails a token that sets the password once; an unknown account resolves alike and gets nothing', async () => {
    await auth.createUser({ username: 'lib-reset', password: 'lib-first-password-1', email: 'lib@example.test' });
    // createUser sends a verification mail, as POST /users does; its token verifies through the library.
    const [verification] = await receiver.arrived(1);
    const verifyToken = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(verification!.text ?? '')?.[1];
    assert.ok(verifyToken, verification!.text);
    await auth.verifyEmail(verifyToken);
    assert.equal((await auth.core.users.get('lib-reset')).emailVerified, true);
    await auth.requestPasswordReset({ username: 'nobody-here' });
    await auth.requestPasswordReset({ email: 'LIB@example.test' });
    await auth.core.passwordResets.settled();
    const mail = (await receiver.arrived(2))[1];
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail!.text ?? '')?.[1];
    assert.ok(token, mail!.text);
    assert.ok(mail!.text!.includes('https://app.portcullis.test/reset-password?token='));
    await auth.resetPassword(token, 'lib-second-password-2');
    await assert.rejects(auth.issueTokens('lib-reset', 'lib-first-password-1'));
    assert.ok((await auth.issueTokens('lib-reset', 'lib-second-password-2')).access_token);
    await assert.rejects(auth.resetPassword(token, 'lib-third-password-3'), InvalidResetTokenError);
    assert.equal(receiver.received.length, 2, 'no mail for the unknown account');
  });
});
