/**
 * The services that manage accounts, sessions, clients and the audit log.
 * They need no signing key, so the CLI builds them on their own; the server
 * builds them inside Portcullis.
 */
import { AuditLog } from './audit/audit-log.js';
import { AuthStateCache, type Invalidation } from './auth-cache.js';
import { applyRemoteChange, BroadcastInvalidation } from './broadcast-invalidation.js';
import type { ChangeBus } from './change-bus.js';
import { ClientService } from './clients/client-service.js';
import type { FactorStore } from './factors/factor.js';
import type { AuthorizationStore } from './authorization/authorization-code.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type {
  AuditStore,
  ChangeSource,
  ClientStore,
  KeyStore,
  MailTokenStore,
  PasswordHasher,
  RevocationFeedStore,
  SessionStore,
  StorageHealth,
  UserStore,
} from './ports.js';
import { SessionService } from './sessions/session-service.js';
import { UserService } from './users/user-service.js';

export interface Stores {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  /** The log of revoked sessions that the SessionStore writes, for GET /revocations. */
  readonly revocations: RevocationFeedStore;
  readonly clients: ClientStore;
  readonly audit: AuditStore;
  readonly keys: KeyStore;
  /** Tokens sent by mail; a password change makes the user's unused reset tokens unusable. */
  readonly mailTokens: MailTokenStore;
  /** Second factors, recovery codes and mfa_token state (ADR 0024). */
  readonly factors: FactorStore;
  /** Authorization codes and consents of the code flow (issue 16). */
  readonly authorizations: AuthorizationStore;
  readonly changes: ChangeSource;
  /** Where the database is shared by instances: tells the others what changed here, and this one what changed there. */
  readonly bus?: ChangeBus;
  readonly health: StorageHealth;
}

export interface AccountServices {
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly clients: ClientService;
  readonly audit: AuditLog;
  readonly cache: AuthStateCache;
  /** What services call after a change: the cache, and the other instances through the bus. */
  readonly invalidation: Invalidation;
}

export function createAccountServices(config: Config, stores: Stores, hasher: PasswordHasher, clock: Clock): AccountServices {
  const cache = new AuthStateCache(stores.changes, {
    ttlMs: config.authCacheTtlSeconds * 1000,
    maxEntries: config.authCacheMaxEntries,
  });
  let invalidation: Invalidation = cache;
  if (stores.bus) {
    const bus = stores.bus;
    invalidation = new BroadcastInvalidation(cache, bus);
    bus.subscribe((change) => applyRemoteChange(cache, change));
  }
  const audit = new AuditLog(stores.audit, clock);
  const sessions = new SessionService(
    stores.sessions,
    clock,
    { idleSeconds: config.sessionIdleSeconds, maxSeconds: config.sessionMaxSeconds },
    audit,
    invalidation,
  );
  const users = new UserService({
    store: stores.users,
    sessions: stores.sessions,
    mailTokens: stores.mailTokens,
    hasher,
    clock,
    policy: { minLength: config.passwordMinLength },
    defaultScopes: config.defaultScopes,
    audit,
    invalidation,
  });
  const clients = new ClientService(stores.clients, stores.sessions, clock, audit, invalidation, (id) =>
    cache.client(id, () => stores.clients.findById(id)),
  );
  return { users, sessions, clients, audit, cache, invalidation };
}
