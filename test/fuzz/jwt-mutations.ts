/**
 * fast-check arbitraries that turn one valid access token into forgery
 * attempts: bit and byte edits of the decoded header, payload and signature
 * (re-encoded as base64url), raw character edits, segment swaps, header
 * rewrites (alg, kid, typ, crit, jwk, ...) and payload rewrites that keep the
 * signature, re-signing with guessable keys, and non-canonical base64url.
 *
 * `sameToken` says whether a mutant is still the original token: its three
 * segments decode (strictly) to the original bytes. Only such a mutant may
 * be accepted; base64url's unused trailing bits let a different string
 * decode to the same signature.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';

type Segment = 0 | 1 | 2;

export type Mutation =
  | { readonly kind: 'flip-bit'; readonly segment: Segment; readonly at: number; readonly bit: number }
  | { readonly kind: 'set-byte'; readonly segment: Segment; readonly at: number; readonly value: number }
  | { readonly kind: 'splice'; readonly segment: Segment; readonly at: number; readonly remove: number; readonly insert: Uint8Array }
  | { readonly kind: 'edit-char'; readonly at: number; readonly char: string }
  | { readonly kind: 'segments'; readonly order: readonly number[] }
  | { readonly kind: 'header'; readonly set: Readonly<Record<string, unknown>>; readonly drop: readonly string[] }
  | { readonly kind: 'payload'; readonly set: Readonly<Record<string, unknown>>; readonly drop: readonly string[] }
  | { readonly kind: 'signature'; readonly bytes: Uint8Array }
  | { readonly kind: 'resign'; readonly alg: 'HS256' | 'HS384' | 'HS512'; readonly key: string }
  | { readonly kind: 'non-canonical'; readonly segment: Segment; readonly pick: number }
  | { readonly kind: 'pad'; readonly segment: Segment; readonly padding: string };

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const segment = fc.constantFrom<Segment>(0, 1, 2);
const index = fc.nat({ max: 400 });

/** `kids` are key ids that exist (from the JWKS), so a swapped kid can name a real key. */
export function mutationArbitrary(kids: readonly string[], publicKeyMaterial: readonly string[]): fc.Arbitrary<Mutation> {
  const algs = fc.constantFrom(
    'none',
    'None',
    'NONE',
    'HS256',
    'HS384',
    'HS512',
    'RS256',
    'PS256',
    'ES256',
    'EdDSA',
    'hs256',
    '',
    'HS256 ',
  );
  const kid = fc.oneof(
    fc.constantFrom(...kids, '', '../../etc/passwd', '0'),
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.constant(null),
  );
  const typ = fc.constantFrom('JWT', 'at+jwt', 'AT+JWT', 'application/at+jwt', 'at+JWT', '', 'jwt');
  const headerField = fc.record(
    {
      alg: algs,
      kid,
      typ,
      crit: fc.constantFrom(['b64'], ['exp'], [], 'b64'),
      b64: fc.boolean(),
      jku: fc.constant('http://127.0.0.1:1/jwks.json'),
      jwk: fc.constant({ kty: 'oct', k: 'AAAA' }),
      x5u: fc.constant('http://127.0.0.1:1/cert.pem'),
      cty: fc.constant('JWT'),
    },
    { requiredKeys: [] },
  );
  const claimValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  const payloadField = fc.record(
    {
      sub: fc.oneof(fc.constantFrom('admin', 'root', ''), claimValue),
      scope: fc.oneof(fc.constantFrom('admin', 'me admin users:write', ''), claimValue),
      exp: fc.oneof(fc.constantFrom(9_999_999_999, 0, -1, 1e308), claimValue),
      nbf: claimValue,
      iat: claimValue,
      iss: fc.oneof(fc.constantFrom('http://portcullis.test', 'http://evil.test'), claimValue),
      aud: claimValue,
      jti: claimValue,
      sid: claimValue,
      ver: claimValue,
      client_id: claimValue,
    },
    { requiredKeys: [] },
  );
  const headerName = fc.constantFrom('alg', 'kid', 'typ');
  const claimName = fc.constantFrom('sub', 'scope', 'exp', 'nbf', 'iat', 'iss', 'jti', 'sid', 'ver', 'aud');
  return fc.oneof(
    fc.record({ kind: fc.constant('flip-bit' as const), segment, at: index, bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('set-byte' as const), segment, at: index, value: fc.nat({ max: 255 }) }),
    fc.record({
      kind: fc.constant('splice' as const),
      segment,
      at: index,
      remove: fc.nat({ max: 8 }),
      insert: fc.uint8Array({ maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant('edit-char' as const),
      at: index,
      char: fc.oneof(fc.constantFrom(...B64URL.split(''), '.', '=', '+', '/', ' ', '~', ''), fc.string({ maxLength: 3 })),
    }),
    fc.record({ kind: fc.constant('segments' as const), order: fc.array(fc.nat({ max: 2 }), { maxLength: 5 }) }),
    fc.record({ kind: fc.constant('header' as const), set: headerField, drop: fc.uniqueArray(headerName, { maxLength: 3 }) }),
    fc.record({ kind: fc.constant('payload' as const), set: payloadField, drop: fc.uniqueArray(claimName, { maxLength: 3 }) }),
    fc.record({
      kind: fc.constant('signature' as const),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constant(new Uint8Array(32))),
    }),
    fc.record({
      kind: fc.constant('resign' as const),
      alg: fc.constantFrom('HS256' as const, 'HS384' as const, 'HS512' as const),
      key: fc.oneof(fc.constantFrom('', 'secret', 'null', ...publicKeyMaterial), fc.string({ maxLength: 32 })),
    }),
    fc.record({ kind: fc.constant('non-canonical' as const), segment, pick: fc.nat({ max: 63 }) }),
    fc.record({ kind: fc.constant('pad' as const), segment, padding: fc.constantFrom('=', '==', '===', '%3D') }),
  );
}

const decode = (text: string): Buffer => Buffer.from(text, 'base64url');
const encode = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function editBytes(token: string, seg: Segment, edit: (bytes: Buffer) => Buffer): string {
  const parts = token.split('.');
  if (parts.length < 3) return token;
  parts[seg] = encode(edit(decode(parts[seg] ?? '')));
  return parts.join('.');
}

function editJson(token: string, seg: 0 | 1, set: Readonly<Record<string, unknown>>, drop: readonly string[]): string {
  return editBytes(token, seg, (bytes) => {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      return bytes;
    }
    for (const name of drop) delete json[name];
    return Buffer.from(JSON.stringify({ ...json, ...set }));
  });
}

export function applyMutation(token: string, mutation: Mutation): string {
  switch (mutation.kind) {
    case 'flip-bit':
      return editBytes(token, mutation.segment, (bytes) => {
        if (bytes.length === 0) return bytes;
        const copy = Buffer.from(bytes);
        const at = mutation.at % copy.length;
        copy[at] = (copy[at] ?? 0) ^ (1 << mutation.bit);
        return copy;
      });
    case 'set-byte':
      return editBytes(token, mutation.segment, (bytes) => {
        if (bytes.length === 0) return Buffer.from([mutation.value]);
        const copy = Buffer.from(bytes);
        copy[mutation.at % copy.length] = mutation.value;
        return copy;
      });
    case 'splice':
      return editBytes(token, mutation.segment, (bytes) => {
        const at = bytes.length === 0 ? 0 : mutation.at % (bytes.length + 1);
        return Buffer.concat([bytes.subarray(0, at), mutation.insert, bytes.subarray(at + mutation.remove)]);
      });
    case 'edit-char': {
      const at = mutation.at % (token.length + 1);
      return token.slice(0, at) + mutation.char + token.slice(at + 1);
    }
    case 'segments': {
      const parts = token.split('.');
      return mutation.order.map((i) => parts[i] ?? '').join('.');
    }
    case 'header':
      return editJson(token, 0, mutation.set, mutation.drop);
    case 'payload':
      return editJson(token, 1, mutation.set, mutation.drop);
    case 'signature': {
      const parts = token.split('.');
      return `${parts[0] ?? ''}.${parts[1] ?? ''}.${encode(mutation.bytes)}`;
    }
    case 'resign': {
      const parts = token.split('.');
      const input = `${parts[0] ?? ''}.${parts[1] ?? ''}`;
      const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[mutation.alg];
      return `${input}.${createHmac(hash, mutation.key).update(input).digest('base64url')}`;
    }
    case 'non-canonical': {
      // Replace the last character by one that differs only in bits the decoder drops (when there are any).
      const parts = token.split('.');
      const text = parts[mutation.segment] ?? '';
      const unusedBits = [0, 0, 4, 2][text.length % 4] ?? 0;
      if (text.length === 0 || unusedBits === 0) return token;
      const value = B64URL.indexOf(text.at(-1) ?? 'A');
      const mask = (1 << unusedBits) - 1;
      const replacement = B64URL[(value & ~mask) | (mutation.pick & mask)] ?? 'A';
      parts[mutation.segment] = text.slice(0, -1) + replacement;
      return parts.join('.');
    }
    case 'pad': {
      const parts = token.split('.');
      if (parts.length < 3) return token;
      parts[mutation.segment] = `${parts[mutation.segment] ?? ''}${mutation.padding}`;
      return parts.join('.');
    }
  }
}

/** Strict base64url: the alphabet only, a possible length; undefined for anything else. */
function strictDecode(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return decode(text);
}

/** Whether `candidate` is the original token up to base64url's unused trailing bits. */
export function sameToken(original: string, candidate: string): boolean {
  if (candidate === original) return true;
  const a = original.split('.');
  const b = candidate.split('.');
  if (a.length !== 3 || b.length !== 3) return false;
  return a.every((part, i) => {
    const left = strictDecode(part);
    const right = strictDecode(b[i] ?? '');
    return left !== undefined && right !== undefined && left.equals(right);
  });
}
