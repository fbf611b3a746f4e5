import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SafeHtml } from './html.js';
import { escapeHtml, html } from './html.js';

describe('html', () => {
  it('escapes every interpolated string', () => {
    const name = `<script>alert("x")</script>&'`;
    assert.equal(
      html`<p title="${name}">${name}</p>`.toString(),
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>',
    );
  });

  it('writes nested fragments as they are, and arrays item by item', () => {
    // prettier-ignore
    const items = ['a<b', 'c'].map((item) => html`<li>${item}</li>`);
    // prettier-ignore
    assert.equal(html`<ul>${items}</ul>`.toString(), '<ul><li>a&lt;b</li><li>c</li></ul>');
  });

  it('writes nothing for undefined, null and booleans, and numbers as text', () => {
    assert.equal(html`[${undefined}${null}${false}${true}${42}]`.toString(), '[42]');
  });

  it('does not take a string that looks like markup as markup', () => {
    const fake = { markup: '<b>' } as unknown as SafeHtml;
    assert.equal(html`${fake as unknown as string}`.toString(), '[object Object]');
    assert.equal(escapeHtml('<b>'), '&lt;b&gt;');
  });
});
