import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../server/config.js';

const KEY = 'k'.repeat(40);

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ SECRET_KEY: KEY, ...env });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
}

describe('mail settings', () => {
  it('reads SMTP, the From, the link base and the relay timing', () => {
    const config = loadConfig({
      SECRET_KEY: KEY,
      SMTP_URL: 'smtp://u:p@mail.example.com:587',
      MAIL_FROM: 'Acme <no-reply@example.com>',
      PUBLIC_URL: 'https://id.example.com/',
      MAIL_RETRY_BASE_SECONDS: '2',
    });
    assert.deepEqual(config.mail.transport, { kind: 'smtp', url: 'smtp://u:p@mail.example.com:587', from: 'Acme <no-reply@example.com>' });
    assert.equal(config.mail.publicUrl, 'https://id.example.com');
    assert.equal(config.mail.relay.retry.baseMs, 2000);
    assert.equal(
      loadConfig({ SECRET_KEY: KEY, ISSUER: 'https://iss.example' }).mail.publicUrl,
      'https://iss.example',
      'PUBLIC_URL defaults to ISSUER',
    );
    assert.equal(loadConfig({ SECRET_KEY: KEY }).mail.transport.kind, 'none');
  });

  it('reports bad URLs, a webhook without secret, a From that is no address, PUBLIC_URL not http(s), never echoing a password', () => {
    const problems = problemsOf({
      SMTP_URL: 'http://user:sekrit-pw@host',
      MAIL_FROM: 'not an address',
      PUBLIC_URL: 'ftp://x',
      MAIL_WEBHOOK_URL: 'mailto:x',
    });
    assert.ok(problems.some((p) => p.startsWith('SMTP_URL must start with smtp:// or smtps://')));
    assert.ok(problems.some((p) => p.startsWith('MAIL_FROM must be an e-mail address')));
    assert.ok(problems.some((p) => p.startsWith('PUBLIC_URL must be an http:// or https:// URL')));
    assert.ok(problems.some((p) => p.startsWith('MAIL_WEBHOOK_URL must be an http:// or https:// URL')));
    assert.ok(problems.every((p) => !p.includes('sekrit-pw')));
    assert.deepEqual(problemsOf({ MAIL_WEBHOOK_URL: 'https://hooks.example/mail' }), [
      'MAIL_WEBHOOK_URL needs MAIL_WEBHOOK_SECRET (the key its events are signed with)',
    ]);
    assert.deepEqual(problemsOf({ SMTP_URL: 'smtp://h' }), ['SMTP_URL needs MAIL_FROM (the From address)']);
    assert.deepEqual(problemsOf({ SMTP_URL: 'smtp://h?tls=off', MAIL_FROM: 'a@b.c' }), [
      'SMTP_URL: the only query parameter is ?tls=optional (allow a server without STARTTLS)',
    ]);
    assert.deepEqual(problemsOf({ SMTP_URL: 'smtp://h:2525?tls=optional', MAIL_FROM: 'a@b.c' }), []);
    assert.ok(
      problemsOf({ MAIL_WEBHOOK_URL: 'https://h', MAIL_WEBHOOK_SECRET: 'short' }).some((p) =>
        p.startsWith('MAIL_WEBHOOK_SECRET must be base64'),
      ),
    );
  });
});
