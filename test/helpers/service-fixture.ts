/**
 * The core services over the memory stores (src/storage/memory, held to the
 * same contract suites as the SQL stores), a fixed clock, and the real
 * argon2id hasher at low cost, for unit tests of the services.
 */
import { AuditLog } from '../../src/core/audit/audit-log.js';
import type { Invalidation } from '../../src/core/auth-cache.js';
import { fixedClock } from '../../src/core/clock.js';
import type { Argon2Parameters } from '../../src/core/config.js';
import { HmacKeys } from '../../src/core/keys/key-ring.js';
import { Argon2PasswordHasher } from '../../src/core/passwords/password-hasher.js';
import { WorkLimiter } from '../../src/core/passwords/work-limiter.js';
import type { PasswordHasher } from '../../src/core/ports.js';
import { SuccessorSealer } from '../../src/core/sessions/refresh-token.js';
import { SessionService } from '../../src/core/sessions/session-service.js';
import { AccessTokenCodec, requiredClaims } from '../../src/core/tokens/access-token.js';
import { TokenService } from '../../src/core/tokens/token-service.js';
import { UserService } from '../../src/core/users/user-service.js';
import { MemoryAuditStore } from '../../src/storage/memory/memory-audit-store.js';
import { MemorySessionStore } from '../../src/storage/memory/memory-session-store.js';
import { MemoryUserStore } from '../../src/storage/memory/memory-user-store.js';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const SECRET_KEY = 'service-unit-tests-secret-key-0123456789abcdef';
export const ISSUER = 'http://portcullis.test';
/** argon2id at far below the production floor: these tests check what is hashed and when, not its cost. */
export const FAST_ARGON2: Argon2Parameters = Object.freeze({ memoryKiB: 1024, iterations: 1, parallelism: 1 });
export const IDLE_SECONDS = 3600;
export const MAX_SECONDS = 86_400;

/** The real hasher, counting what it is asked to do. */
export class CountingHasher implements PasswordHasher {
  readonly calls = { hash: 0, verify: 0, verifyDummy: 0 };
  constructor(private readonly inner: PasswordHasher) {}
  hash(password: string): Promise<string> {
    this.calls.hash += 1;
    return this.inner.hash(password);
  }
  verify(storedHash: string, password: string): Promise<boolean> {
    this.calls.verify += 1;
    return this.inner.verify(storedHash, password);
  }
  verifyDummy(password: string): Promise<false> {
    this.calls.verifyDummy += 1;
    return this.inner.verifyDummy(password);
  }
  needsRehash(storedHash: string): boolean {
    return this.inner.needsRehash(storedHash);
  }
}

export function fastHasher(params: Argon2Parameters = FAST_ARGON2): CountingHasher {
  return new CountingHasher(new Argon2PasswordHasher(params, new WorkLimiter(2, 64)));
}

/** Records what the services invalidate, in order. */
export class RecordingInvalidation implements Invalidation {
  readonly calls: string[] = [];
  userChanged(userId: string): void {
    this.calls.push(`user:${userId}`);
  }
  sessionChanged(sessionId: string): void {
    this.calls.push(`session:${sessionId}`);
  }
  sessionsOfUserChanged(userId: string): void {
    this.calls.push(`sessions-of:${userId}`);
  }
  clientChanged(clientId: string): void {
    this.calls.push(`client:${clientId}`);
  }
}

export function serviceFixture(options: { readonly graceSeconds?: number; readonly hasher?: CountingHasher } = {}) {
  const clock = fixedClock(T0);
  const users = new MemoryUserStore();
  const auditStore = new MemoryAuditStore();
  const sessions = new MemorySessionStore(auditStore);
  const audit = new AuditLog(auditStore, clock);
  const invalidation = new RecordingInvalidation();
  const hasher = options.hasher ?? fastHasher();
  const sessionService = new SessionService(sessions, clock, { idleSeconds: IDLE_SECONDS, maxSeconds: MAX_SECONDS }, audit, invalidation);
  const userService = new UserService({
    store: users,
    sessions,
    hasher,
    clock,
    policy: { minLength: 8 },
    defaultScopes: ['me'],
    audit,
    invalidation,
  });
  const policy = { issuer: ISSUER, audience: undefined, requiredClaims: requiredClaims(undefined) };
  const codec = new AccessTokenCodec(
    { algorithm: 'HS256', secretKey: SECRET_KEY, issuer: ISSUER, audience: undefined, ttlSeconds: 900, clockToleranceSeconds: 0 },
    clock,
    new HmacKeys('HS256', SECRET_KEY, policy),
  );
  const tokenService = new TokenService({
    users,
    sessions,
    sessionService,
    hasher,
    codec,
    sealer: new SuccessorSealer(SECRET_KEY),
    clock,
    audit,
    invalidation,
    refreshReuseGraceSeconds: options.graceSeconds ?? 10,
  });
  /** The audit events recorded so far (in no particular order: the clock stands still), of one type if given. */
  const events = async (type?: string) =>
    (await auditStore.list({ limit: 1000, ...(type === undefined ? {} : { type }) })).events.map((event) => ({
      type: event.type,
      outcome: event.outcome,
      subject: event.subject,
      details: event.details,
    }));
  return { clock, users, sessions, auditStore, audit, invalidation, hasher, sessionService, userService, codec, tokenService, events };
}

export type ServiceFixture = ReturnType<typeof serviceFixture>;
