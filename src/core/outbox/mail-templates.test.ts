import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailTemplates } from './mail-templates.js';

describe('MailTemplates', () => {
  it('fills placeholders, escaping HTML in the HTML part and line breaks in the subject', () => {
    const templates = new MailTemplates({ test: { subject: '{{product_name}} for {{to}}' } });
    const rendered = templates.render('test', { to: '<b>x</b>\r\nBcc: y', product_name: 'Acme & Co', public_url: 'https://a.test' });
    assert.equal(rendered.subject, 'Acme & Co for <b>x</b> Bcc: y');
    assert.match(rendered.text, /from Acme & Co \(https:\/\/a\.test\) to <b>x<\/b>\r\nBcc: y\./);
    assert.match(rendered.html, /from Acme &amp; Co \(<a href="https:\/\/a\.test">https:\/\/a\.test<\/a>\) to &lt;b&gt;x&lt;\/b&gt;/);
  });

  it('refuses an override that names a placeholder its kind does not have', () => {
    assert.throws(() => new MailTemplates({ test: { html: '{{token}} {{ to }}' } }), /test html: unknown placeholder \{\{token\}\}/);
  });
});
