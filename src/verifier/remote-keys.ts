/**
 * The remote key set: jose's createRemoteJWKSet (cache, refetch on an unknown `kid` at most once per cooldown,
 * request timeout), plus no request for min(cooldown, 5 s) after a failed fetch, and stale-if-error: when a
 * refetch fails, a key of the last good set still verifies. An unknown `kid` is an invalid token; keys that
 * cannot be had are JwksUnavailableError.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type CryptoKey,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { InvalidTokenError, JwksUnavailableError } from './errors.js';

export interface RemoteKeySettings {
  readonly timeoutMs: number;
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

const MAX_FAILURE_BACKOFF_MS = 5000;

function isJwkSet(value: unknown): value is JSONWebKeySet {
  if (value === null || typeof value !== 'object') return false;
  const keys = (value as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((key) => key !== null && typeof key === 'object' && !Array.isArray(key));
}

/** A key that a set cannot supply because of the token (not the set): an invalid token. */
function isTokenSideMiss(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

export function createRemoteKeyResolver(getUrl: () => Promise<URL>, settings: RemoteKeySettings): KeyResolver {
  const failureBackoffMs = Math.min(settings.cooldownMs, MAX_FAILURE_BACKOFF_MS);
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;
  let lastGoodBody: string | undefined;
  let stale: { body: string; keys: ReturnType<typeof createLocalJWKSet> } | undefined;

  const guardedFetch: FetchImplementation = async (url, init) => {
    if (Date.now() - lastFailureAt < failureBackoffMs) {
      throw new JwksUnavailableError(`the JWKS at ${url} failed moments ago; not asking again yet`, { cause: lastFailure });
    }
    try {
      const response = await fetch(url, init);
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new JwksUnavailableError(`the JWKS at ${url} answered HTTP ${response.status}`);
      }
      const body = await response.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new JwksUnavailableError(`the JWKS at ${url} is not JSON`);
      }
      if (!isJwkSet(parsed)) throw new JwksUnavailableError(`the JWKS at ${url} is not a JWK set`);
      lastGoodBody = body;
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      lastFailureAt = Date.now();
      lastFailure = error;
      throw error instanceof JwksUnavailableError
        ? error
        : new JwksUnavailableError(`could not fetch the JWKS at ${url}`, { cause: error });
    }
  };

  let remote: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const remoteSet = () => {
    if (remote === undefined) {
      const attempt = getUrl().then((url) =>
        createRemoteJWKSet(url, {
          timeoutDuration: settings.timeoutMs,
          cooldownDuration: settings.cooldownMs,
          cacheMaxAge: settings.cacheMaxAgeMs,
          [customFetch]: guardedFetch,
        }),
      );
      remote = attempt;
      // Discovery remembers its own failures (with a backoff); ask it again next time.
      attempt.catch(() => {
        if (remote === attempt) remote = undefined;
      });
    }
    return remote;
  };

  /** The last good set, for stale-if-error; undefined when none was ever fetched. */
  const staleKeys = () => {
    if (lastGoodBody === undefined) return undefined;
    if (stale?.body !== lastGoodBody) stale = { body: lastGoodBody, keys: createLocalJWKSet(JSON.parse(lastGoodBody) as JSONWebKeySet) };
    return stale.keys;
  };

  return async (header, token) => {
    const keys = await remoteSet();
    try {
      return await keys(header, token);
    } catch (error) {
      if (isTokenSideMiss(error)) throw new InvalidTokenError((error as errors.JOSEError).code);
      if (!(error instanceof JwksUnavailableError)) {
        throw new JwksUnavailableError('the JWKS holds no usable key for this token', { cause: error });
      }
      const fallback = staleKeys();
      if (fallback !== undefined) {
        try {
          return await fallback(header, token);
        } catch {
          // No cached key fits either: the token may be signed by a key we could not fetch.
        }
      }
      throw error;
    }
  };
}
