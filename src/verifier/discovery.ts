/**
 * RFC 8414 discovery: the issuer's metadata names its `jwks_uri`. Fetched
 * once, lazily, on the first token; a failure is remembered for a short
 * backoff (so a down issuer is not asked on every request) and then retried,
 * so a resource server that starts before Portcullis recovers by itself.
 */
import { JwksUnavailableError } from './errors.js';

const METADATA_PATH = '/.well-known/oauth-authorization-server';

/**
 * Where to look, in order. Portcullis serves `{issuer}/.well-known/...`; for
 * an issuer with a path RFC 8414 §3.1 puts the well-known part before the path,
 * so that form is tried second.
 */
export function metadataUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const appended = new URL(`${url.origin}${path}${METADATA_PATH}`);
  if (path === '') return [appended];
  return [appended, new URL(`${url.origin}${METADATA_PATH}${path}`)];
}

async function fetchJson(url: URL, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    headers: { accept: 'application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status, body: undefined };
  }
  return { status: 200, body: await response.json() };
}

/** Fetches the metadata, checks its `issuer` is ours, returns its `jwks_uri`. */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  let lastStatus = 0;
  for (const url of metadataUrls(issuer)) {
    let result: { status: number; body: unknown };
    try {
      result = await fetchJson(url, timeoutMs);
    } catch (cause) {
      throw new JwksUnavailableError(`could not fetch the authorization server metadata at ${url.href}`, { cause });
    }
    lastStatus = result.status;
    if (result.status === 404) continue;
    if (result.status !== 200) break;
    const metadata = result.body as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (metadata === null || typeof metadata !== 'object') {
      throw new JwksUnavailableError(`the authorization server metadata at ${url.href} is not a JSON object`);
    }
    // RFC 8414 §3.3: the metadata's issuer must be identical to the one configured.
    if (metadata.issuer !== issuer) {
      throw new JwksUnavailableError(
        `the authorization server metadata names issuer ${JSON.stringify(metadata.issuer)}, not the configured ${JSON.stringify(issuer)}`,
      );
    }
    if (typeof metadata.jwks_uri !== 'string') {
      throw new JwksUnavailableError(`the authorization server metadata at ${url.href} has no jwks_uri`);
    }
    let jwksUri: URL;
    try {
      jwksUri = new URL(metadata.jwks_uri);
    } catch {
      throw new JwksUnavailableError(`the authorization server metadata at ${url.href} has an invalid jwks_uri`);
    }
    if (jwksUri.protocol !== 'https:' && jwksUri.protocol !== 'http:') {
      throw new JwksUnavailableError(`the authorization server metadata at ${url.href} has a non-http(s) jwks_uri`);
    }
    return jwksUri;
  }
  throw new JwksUnavailableError(`the authorization server metadata for ${issuer} answered HTTP ${lastStatus}`);
}

/** `discoverJwksUri` memoised: one request in flight, success kept for good, failure kept for `backoffMs`. */
export function lazyJwksUri(issuer: string, timeoutMs: number, backoffMs: number): () => Promise<URL> {
  let pending: Promise<URL> | undefined;
  let failedAt = 0;
  return () => {
    if (pending === undefined || (failedAt !== 0 && Date.now() - failedAt >= backoffMs)) {
      failedAt = 0;
      const attempt: Promise<URL> = discoverJwksUri(issuer, timeoutMs).catch((error: unknown) => {
        if (pending === attempt) failedAt = Date.now();
        throw error;
      });
      pending = attempt;
    }
    return pending;
  };
}
