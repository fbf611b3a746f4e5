/**
 * A browser without a browser, for the hosted pages' HTTP tests: real HTTP to a test server, a
 * cookie jar (HttpOnly or not, as a browser keeps them), redirects not followed (tests assert
 * them), and the CSRF field of the last page sent back with each form unless a test says otherwise.
 */
import type { TestServer } from './server.js';

export interface PageAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly html: string;
  /** The raw Set-Cookie headers of the answer. */
  readonly setCookies: readonly string[];
  readonly location: string | null;
}

export class PageClient {
  readonly cookies = new Map<string, string>();
  /** Every page body this client read: a test checks none holds a secret. */
  readonly pages: string[] = [];
  private lastCsrf: string | undefined;

  constructor(private readonly server: TestServer) {}

  async get(path: string): Promise<PageAnswer> {
    return this.send(path, { method: 'GET' });
  }

  /** Posts a form; `csrf`: the last page's token (default), another value, or none at all (null). */
  async post(path: string, fields: Record<string, string>, csrf: string | null | undefined = this.lastCsrf): Promise<PageAnswer> {
    const body = new URLSearchParams({ ...fields, ...(csrf === null || csrf === undefined ? {} : { csrf_token: csrf }) });
    return this.send(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  }

  get csrfToken(): string | undefined {
    return this.lastCsrf;
  }

  private async send(path: string, init: RequestInit): Promise<PageAnswer> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.server.fetch(path, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie === '' ? {} : { cookie }) },
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const html = await response.text();
    if (html !== '') this.pages.push(html);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
    if (csrf !== undefined) this.lastCsrf = csrf;
    return { status: response.status, headers: response.headers, html, setCookies, location: response.headers.get('location') };
  }
}

/** The attributes of the Set-Cookie header that sets `name`, lower-cased, as a set ("httponly", "path=/", ...). */
export function cookieAttributes(answer: PageAnswer, name: string): Set<string> | undefined {
  const line = answer.setCookies.find((item) => item.startsWith(`${name}=`));
  if (line === undefined) return undefined;
  return new Set(
    line
      .split(';')
      .slice(1)
      .map((attribute) => attribute.trim().toLowerCase()),
  );
}
