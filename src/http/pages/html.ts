/**
 * The hosted pages' HTML, escaped by construction: `html` is a tagged template whose every
 * interpolated value is escaped (& < > " ') unless it is already SafeHtml, which only this
 * module makes. A page is built from `html` fragments alone, so a value cannot reach the output
 * unescaped by forgetting to escape it. Why this and not a template engine: ADR 0027 (a dozen
 * small pages, type-checked, no template files to ship or load, no dependency).
 *
 * Attribute values are always written quoted in the templates, so escaping the quotes keeps a
 * value inside its attribute. URLs in href and action attributes are the pages' own paths, never
 * a value from a request.
 */

const ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
});

/** Markup that is safe to write as it is: made only by `html` (which escapes) and `joinHtml`. */
export class SafeHtml {
  /** Private to this module in spirit: construct through `html`. */
  private constructor(readonly markup: string) {}

  /** @internal */
  static of(markup: string): SafeHtml {
    return new SafeHtml(markup);
  }

  toString(): string {
    return this.markup;
  }
}

/** What a template may interpolate: nothing, false, null and undefined write nothing; arrays write each item. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

function write(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.markup;
  if (value === undefined || value === null || value === false || value === true) return '';
  if (Array.isArray(value)) return value.map((item: HtmlValue) => write(item)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let markup = strings[0] ?? '';
  values.forEach((value, index) => {
    markup += write(value) + (strings[index + 1] ?? '');
  });
  return SafeHtml.of(markup);
}
