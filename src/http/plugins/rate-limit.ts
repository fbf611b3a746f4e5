/**
 * Rate limits on routes: `rateLimit(portcullis, action)` gives a preHandler
 * that takes a token from the client address's bucket through core, and
 * reports it in the RateLimit-* headers
 * (draft-ietf-httpapi-ratelimit-headers). An empty bucket throws
 * RateLimitedError, which the error handler answers with 429 and the same headers.
 * A password attempt's buckets are not here: the login guard spends them with
 * the backoff, and its refusals carry a challenge (core/login/login-guard.ts).
 */
import type { FastifyReply, preHandlerAsyncHookHandler } from 'fastify';
import type { TokenBucketSettings } from '../../core/config.js';
import type { Portcullis } from '../../core/portcullis.js';
import type { RateCheck, RateLimitedAction } from '../../core/rate-limit/rate-limits.js';
import { actionContext } from './request-context.js';

export function rateLimit(portcullis: Portcullis, action: RateLimitedAction): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    const check = await portcullis.rateLimits.check({ action }, actionContext(request));
    if (check) setRateLimitHeaders(reply, check);
  };
}

/**
 * The quota policy of a token bucket: `burst` requests per the time the bucket
 * takes to refill from empty, which states both the burst and the sustained
 * rate (burst 30 at 60 a minute is `30;w=30`).
 */
export function rateLimitPolicy(settings: TokenBucketSettings): string {
  return `${settings.burst};w=${Math.max(1, Math.ceil((settings.burst * 60) / settings.perMinute))}`;
}

export function setRateLimitHeaders(reply: FastifyReply, check: RateCheck): void {
  reply.header('ratelimit-limit', String(check.decision.limit));
  reply.header('ratelimit-remaining', String(check.decision.remaining));
  reply.header('ratelimit-reset', String(check.decision.resetSeconds));
  reply.header('ratelimit-policy', rateLimitPolicy(check.settings));
}
