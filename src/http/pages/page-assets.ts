/**
 * The hosted pages' one stylesheet and the optional logo, served by us (no third-party assets).
 * The stylesheet is made once at start-up with BRAND_COLOR (a validated hex colour, so nothing
 * else can reach the CSS); the logo is read once from BRAND_LOGO_FILE (checked at configuration
 * time: .png or .svg, at most 256 KiB). The logo keeps the API's CSP (`default-src 'none'`: opened
 * on its own, an SVG runs nothing), and is shown through <img>, where browsers run no script of it anyway.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LOGO_TYPES } from '../settings.js';
import { LOGO_PATH, STYLESHEET_PATH } from './layout.js';

export function stylesheet(brandColor: string): string {
  return `:root { --brand: ${brandColor}; --text: #1a1a1a; --muted: #4a4a4a; --line: #c8c8c8; --error: #a4161a; --ok: #1e6b34; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 1rem; line-height: 1.5; color: var(--text); background: #f4f5f7; }
.brand { max-width: 36rem; margin: 2rem auto 0; padding: 0 1rem; }
.brand .product { font-weight: 700; font-size: 1.25rem; margin: 0; }
.brand .logo { max-height: 3rem; max-width: 12rem; }
main { max-width: 36rem; margin: 1rem auto 2rem; padding: 1.5rem; background: #fff; border: 1px solid var(--line); border-radius: 0.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 0.5rem; }
.message { border-left: 0.3rem solid; padding: 0.5rem 1rem; margin: 0 0 1rem; background: #fafafa; }
.message h2 { font-size: 1rem; margin: 0; }
.message p { margin: 0.25rem 0; }
.error { border-color: var(--error); color: var(--error); }
.notice { border-color: var(--ok); color: var(--ok); }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.hint { margin: 0 0 0.25rem; color: var(--muted); font-size: 0.9rem; }
input[type="text"], input[type="password"], input[type="email"] { width: 100%; font: inherit; padding: 0.5rem; border: 1px solid #767676; border-radius: 0.25rem; }
input:focus, button:focus, a:focus { outline: 3px solid var(--brand); outline-offset: 2px; }
button { font: inherit; font-weight: 600; padding: 0.5rem 1.25rem; border: 2px solid var(--brand); border-radius: 0.25rem; background: var(--brand); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--brand); }
a { color: var(--brand); }
ul.links { padding-left: 1.2rem; }
ul.items { list-style: none; padding: 0; }
ul.items > li { border-top: 1px solid var(--line); padding: 0.75rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 0.5rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
img.qr { display: block; width: 200px; height: 200px; background: #fff; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 1rem; }
ul.codes { list-style: none; padding: 0; columns: 2; }
ul.codes li { padding: 0.15rem 0; }
.webauthn { margin: 0 0 1rem; }
`;
}

export function registerPageAssets(app: FastifyInstance, brandColor: string, logoFile: string | undefined): void {
  const css = stylesheet(brandColor);
  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(css),
  );
  if (logoFile === undefined) return;
  const logo = readFileSync(logoFile);
  const type = LOGO_TYPES[extname(logoFile).toLowerCase()]!;
  app.get(LOGO_PATH, async (_request, reply) => reply.type(type).header('cache-control', 'public, max-age=3600').send(logo));
}
