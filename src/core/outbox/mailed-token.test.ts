/** MailedTokens: the token's shape, the mail's expiry, and one write of the token with its mail. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixedClock } from '../clock.js';
import type { OutboxMessage } from './outbox-message.js';
import type { MailTokenIssueOptions, MailTokenRecord, MailTokenStore } from '../ports.js';
import { hashSecret } from '../secrets.js';
import type { User } from '../users/user.js';
import { isMailedTokenShape, MailedTokens, mailExpiry, MAX_MAILED_TOKEN_LENGTH } from './mailed-token.js';
import type { Mailer } from './mailer.js';

const T0 = Date.parse('2026-12-01T09:00:30Z');

describe('mailed tokens', () => {
  it('says an expiry as YYYY-MM-DD HH:MM UTC', () => {
    assert.equal(mailExpiry(T0), '2026-12-01 09:00 UTC');
  });

  it('refuses an empty token and one past the longest of ours without a look-up', () => {
    assert.equal(isMailedTokenShape(''), false);
    assert.equal(isMailedTokenShape('x'.repeat(MAX_MAILED_TOKEN_LENGTH)), true);
    assert.equal(isMailedTokenShape('x'.repeat(MAX_MAILED_TOKEN_LENGTH + 1)), false);
  });

  it('writes a 256-bit token as its hash with the mail that carries it, then wakes the relay', async () => {
    const issued: { record: MailTokenRecord; mail: OutboxMessage; options: MailTokenIssueOptions | undefined }[] = [];
    const store = { issue: async (record, mail, options) => void issued.push({ record, mail, options }) } as Pick<MailTokenStore, 'issue'>;
    const composed: Record<string, string>[] = [];
    let woken = 0;
    const mailer = {
      compose: (kind: string, to: string, values: Record<string, string>) => {
        composed.push(values);
        return { id: 'm', kind, to, subject: 's', text: 't', html: 'h', createdAt: T0 };
      },
      queued: () => void woken++,
    };
    const tokens = new MailedTokens({ store: store as MailTokenStore, mailer: mailer as unknown as Mailer, clock: fixedClock(T0) });
    const user = { id: 'u1', username: 'alice' } as User;
    await tokens.issue({
      user,
      email: 'a@example.test',
      purpose: 'sign_in',
      ttlMs: 15 * 60_000,
      kind: 'sign_in_link',
      values: (token, expiresAt) => ({ username: user.username, token, expires_minutes: '15', expires_at: expiresAt }),
      voidEarlier: true,
    });
    const [{ record, mail, options }] = issued as [(typeof issued)[number]];
    const token = composed[0]?.token ?? '';
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.equal(record.tokenHash, hashSecret(token), 'only the hash is stored');
    assert.deepEqual(
      { ...record, id: undefined, tokenHash: undefined },
      {
        id: undefined,
        tokenHash: undefined,
        userId: 'u1',
        purpose: 'sign_in',
        email: 'a@example.test',
        createdAt: T0,
        expiresAt: T0 + 15 * 60_000,
        usedAt: null,
      },
    );
    assert.equal(composed[0]?.expires_at, '2026-12-01 09:15 UTC');
    assert.equal(mail.to, 'a@example.test');
    assert.deepEqual(options, { voidEarlier: true });
    assert.equal(woken, 1);
  });
});
