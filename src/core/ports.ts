/**
 * The small interfaces core needs from the outside world. Implementations
 * live in storage/ (SQL) and core/passwords (hashing); they are passed in to
 * createPortcullis, never imported by core.
 */
import type { AuditEvent, AuditFilter, AuditPage } from './audit/audit-event.js';
import type { Client } from './clients/client.js';
import type { TokenBucketSettings } from './config.js';
import type { KeyState, SigningKeyRecord } from './keys/signing-key.js';
import type { ClaimedMessage, OutboxClaim, OutboxEntry, OutboxFailure, OutboxMessage, OutboxStats } from './outbox/outbox-message.js';
import type { Session, SessionEndReason } from './sessions/session.js';
import type { User } from './users/user.js';

/** A user as handed to the store: everything but what the store assigns (id, timestamps). */
/** A user to create; its address is unverified unless `emailVerified` says so (an import, an operator); no second factor is required of it unless `mfaRequired` says so. */
export type NewUser = Omit<User, 'id' | 'createdAt' | 'updatedAt' | 'tokenVersion' | 'emailVerified' | 'mfaRequired'> & {
  readonly emailVerified?: boolean;
  readonly mfaRequired?: boolean;
};

/** What an import writes: new users, and replacements of existing ones (`portcullis users import --update`). */
export interface UserImportBatch {
  readonly create: readonly NewUser[];
  readonly replace: readonly NewUser[];
}

export interface UserListPage {
  readonly users: readonly User[];
  /** Pass as `after` for the next page; undefined on the last page. */
  readonly next: string | undefined;
}

export interface UserStore {
  /** undefined when no user has that key. */
  findByKey(usernameKey: string): Promise<User | undefined>;
  /** Throws UsernameTakenError when the key is taken (the database enforces it). */
  create(user: NewUser, nowMs: number): Promise<User>;
  /** All or nothing: one transaction; throws UsernameTakenError if any key is taken. */
  createMany(users: readonly NewUser[], nowMs: number): Promise<void>;
  /** Users ordered by key, at most `limit`, after the key `after`, optionally by key prefix and disabled state. */
  list(filter: UserFilter): Promise<UserListPage>;
  /**
   * An import's write, in one transaction: creates `create` (UsernameTakenError if a key is taken) and
   * replaces the hash, e-mail, verified flag, full name and disabled state of the existing users in
   * `replace` (by key; scopes and everything else kept), bumping the token version of those whose hash
   * changes. Returns the ids of the users replaced.
   */
  importMany(batch: UserImportBatch, nowMs: number): Promise<string[]>;
  /** Keys among the given ones that exist already. */
  existingKeys(usernameKeys: readonly string[]): Promise<Set<string>>;
  /** false when no such user. */
  setDisabled(usernameKey: string, disabled: boolean, nowMs: number): Promise<boolean>;
  /** false when no such user. */
  remove(usernameKey: string): Promise<boolean>;
  /**
   * Replaces the hash; with `expectedHash`, only if the stored hash is still
   * that one (so a rehash on login cannot undo a concurrent password change).
   */
  setPasswordHash(usernameKey: string, passwordHash: string, nowMs: number, expectedHash?: string): Promise<boolean>;
  /** A new password: replaces the hash and bumps the token version, so earlier access tokens stop working. */
  changePassword(usernameKey: string, passwordHash: string, nowMs: number): Promise<User | undefined>;
  findById(id: string): Promise<User | undefined>;
  /** Users whose e-mail is `email` compared case-insensitively (by emailKey), verified or not, at most `limit` of them. */
  findByEmail(email: string, limit: number): Promise<User[]>;
  /** The one user whose verified e-mail has this emailKey (the database keeps verified addresses unique). */
  findByVerifiedEmail(emailKey: string): Promise<User | undefined>;
  /** undefined when no such user. */
  update(usernameKey: string, patch: UserPatch, nowMs: number): Promise<User | undefined>;
}

export interface PasswordHasher {
  /** argon2id of the normalised password. */
  hash(password: string): Promise<string>;
  /** Whether the password matches the stored hash (argon2id or imported bcrypt). */
  verify(storedHash: string, password: string): Promise<boolean>;
  /** Does the same work as verify, for a user that does not exist; always false. */
  verifyDummy(password: string): Promise<false>;
  /** Whether a stored hash should be replaced at the next successful login. */
  needsRehash(storedHash: string): boolean;
}

/** Liveness of the backing store, for /readyz. */
export interface StorageHealth {
  ping(): Promise<void>;
}

/**
 * A change to a user. Setting `email` makes it unverified unless `emailVerified` says otherwise;
 * an address another account has verified cannot be verified again (EmailTakenError).
 */
export interface UserPatch {
  readonly email?: string | null;
  readonly emailVerified?: boolean;
  readonly fullName?: string | null;
  readonly scopes?: readonly string[];
  readonly disabled?: boolean;
  /** An administrator requires a second factor of the user, or no longer does. */
  readonly mfaRequired?: boolean;
  /**
   * Apply the patch only while the account's address is this one (compared as addresses compare):
   * otherwise nothing changes (a sign-in link marks the address it went to verified only if it is
   * still the account's).
   */
  readonly onlyIfEmail?: string;
}

export interface UserFilter {
  readonly prefix?: string;
  readonly disabled?: boolean;
  readonly after?: string;
  readonly limit: number;
}

export interface RefreshTokenRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly secretHash: string;
  readonly createdAt: number;
  readonly rotatedAt: number | null;
  readonly successorId: string | null;
  readonly successorSealed: string | null;
}

/** What SessionStore.rotate changes: the old token retired, the next one current, the session's idle expiry extended. */
export interface RefreshTokenRotation {
  readonly oldId: string;
  readonly sessionId: string;
  readonly next: { readonly id: string; readonly secretHash: string };
  readonly successorSealed: string;
  readonly nowMs: number;
  readonly idleExpiresAt: number;
}

export interface SessionStore {
  /**
   * The session, its first refresh token and the audit event of its opening (the login), in one
   * transaction: all are stored or none (one synced commit per login). Throws what the audit
   * store would for the event (an id taken).
   */
  create(session: Session, firstToken: { readonly id: string; readonly secretHash: string }, opening: AuditEvent): Promise<void>;
  find(id: string): Promise<Session | undefined>;
  /** Sessions of a user that are neither revoked nor expired at `nowMs`, newest first. */
  listActive(userId: string, nowMs: number): Promise<Session[]>;
  /** How many sessions, of all users, are neither revoked nor expired at `nowMs` (for metrics). */
  countActive(nowMs: number): Promise<number>;
  findRefreshToken(id: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Retires `oldId` and makes `next` the session's current token, extending
   * its idle expiry, atomically and only if `oldId` is still current.
   * false when another request retired it first.
   */
  rotate(rotation: RefreshTokenRotation): Promise<boolean>;
  /**
   * false when no such session or already revoked. Here and in the two below, ending a session also
   * ends the sessions its codes opened (`browserSessionId`, reason `browser_session_ended`), and the
   * SQL store queues a back-channel logout token for each of their clients that takes them, in the
   * same transaction (core/logout/).
   */
  revoke(id: string, reason: SessionEndReason, nowMs: number): Promise<boolean>;
  /**
   * Revokes every active session of the user; returns the ids revoked. With
   * `keep`, that session goes on, but its tokens below `minTokenVersion` are
   * revoked (a password change: the revocation feed tells resource servers).
   */
  revokeAllOfUser(userId: string, reason: SessionEndReason, nowMs: number, keep?: KeptSession): Promise<string[]>;
  /** The ids of the sessions that codes of this browser session opened (`browserSessionId`), ended or not. */
  openedBy(browserSessionId: string): Promise<string[]>;
  /** Revokes every active session opened by the client; returns the ids revoked. */
  revokeAllOfClient(clientId: string, reason: SessionEndReason, nowMs: number): Promise<string[]>;
}

/** The session a revocation of all of a user's sessions spares, and the token version its tokens need from now on. */
export interface KeptSession {
  readonly sessionId: string;
  readonly minTokenVersion: number;
}

/** An entry of the revocation feed: every token of the session, or only those whose `ver` is below `minTokenVersion`. */
export interface RevokedSession {
  readonly sessionId: string;
  readonly minTokenVersion?: number;
}

/** A page of the revocation feed. */
export interface RevocationPage {
  /** Everything up to this number is in this page or was in earlier ones; pass it back as `since`. */
  readonly cursor: number;
  /** The page starts from the beginning (no cursor, or one the log no longer continues from), not from `since`. */
  readonly full: boolean;
  /** More entries follow: ask again with `cursor` at once. */
  readonly more: boolean;
  readonly sessions: readonly RevokedSession[];
}

/**
 * The log of revoked sessions behind GET /revocations, written by the
 * SessionStore in the transaction of each revocation, numbered in commit order.
 */
export interface RevocationFeedStore {
  /**
   * Entries after `since` (undefined: from the start) revoked at or after
   * `revokedSinceMs`, at most `limit`, oldest first.
   */
  read(since: number | undefined, revokedSinceMs: number, limit: number): Promise<RevocationPage>;
}

export interface ClientStore {
  /** Throws ClientNameTakenError when the name is taken. */
  create(client: Client): Promise<void>;
  findById(id: string): Promise<Client | undefined>;
  findByName(name: string): Promise<Client | undefined>;
  list(): Promise<Client[]>;
  /** Writes every field but id, name and createdAt; false when no such client. */
  update(client: Client): Promise<boolean>;
  remove(id: string): Promise<boolean>;
}

export interface AuditStore {
  record(event: AuditEvent): Promise<void>;
  list(filter: AuditFilter): Promise<AuditPage>;
}

/**
 * Tells when another process (the CLI, another instance) may have changed
 * what the in-process caches hold. Cheap and synchronous: called per request.
 */
/**
 * Tells caches that another process changed stored state. `version()`
 * moves when something changed; undefined means "cannot tell right now"
 * (a shared database with no change bus, or the bus is disconnected), and a
 * cache must then not trust anything it holds.
 */
export interface ChangeSource {
  version(): number | undefined;
}

export interface KeyStore {
  /** Every key not yet gone. */
  list(): Promise<SigningKeyRecord[]>;
  insert(key: SigningKeyRecord): Promise<void>;
  /**
   * Atomically: `currentKid` (if given) current → retired, `nextKid` next →
   * current, and `newNext` inserted as next. false when another process
   * changed the keys first (so two instances never rotate twice).
   */
  rotate(rotation: {
    readonly currentKid: string | null;
    readonly nextKid: string;
    readonly newNext: SigningKeyRecord;
    readonly nowMs: number;
  }): Promise<boolean>;
  /** Marks a key retired now; false if it was not in `fromState`. */
  retire(kid: string, fromState: KeyState, nowMs: number): Promise<boolean>;
  remove(kid: string): Promise<boolean>;
}

/** What a rate limiter answers for one request. */
export interface RateDecision {
  readonly allowed: boolean;
  /** The bucket size (burst). */
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Seconds until the bucket is full again (0 when it is). */
  readonly resetSeconds: number;
  /** Seconds until a request of this cost would be allowed (0 when allowed). */
  readonly retryAfterSeconds: number;
}

/**
 * Token buckets by key: capacity `burst`, refilled at `perMinute / 60` tokens
 * a second. A refused request takes nothing. In-process or shared (Redis).
 */
export interface RateLimiter {
  /** Takes `cost` tokens (default 1) from the key's bucket if it holds them. `cost` must be 1..burst. */
  consume(key: string, bucket: TokenBucketSettings, cost?: number): Promise<RateDecision>;
}

/** The failed logins of one (account, source) pair. */
export interface LoginFailures {
  readonly count: number;
  /** When the last one happened (ms since the epoch). */
  readonly lastAt: number;
}

/** What the login defences know about an attempt before the password is checked. */
export interface LoginAttemptView {
  /** undefined when the pair has no failures remembered. */
  readonly failures: LoginFailures | undefined;
  /** Distinct accounts the source failed on within the spray window. */
  readonly sprayAccounts: number;
  /** The oldest of those failures (ms); undefined when there is none. */
  readonly sprayOldestAt: number | undefined;
}

export interface LoginFailureRecord {
  /** The (account, source) pair: opaque, built by core. */
  readonly pairKey: string;
  /** The client's address (opaque), for spraying. */
  readonly sourceKey: string;
  /** The account failed on (opaque); counted once per source within the window. */
  readonly accountKey: string;
  readonly nowMs: number;
  /** The pair is forgotten this long after its last failure. */
  readonly pairTtlMs: number;
  readonly sprayWindowMs: number;
}

/**
 * Bookkeeping of the login backoff and spraying defences, in-process or
 * shared by instances (Redis). Keys are opaque strings made by core (never a
 * username or password); every record expires on its own.
 */
export interface LoginAttemptStore {
  /** The pair's failures and the source's spraying count (a sliding window ending at `nowMs`). */
  inspect(pairKey: string, sourceKey: string, nowMs: number, sprayWindowMs: number): Promise<LoginAttemptView>;
  /** Counts a failure of the pair and of the source on the account, atomically; the pair's new state. */
  recordFailure(failure: LoginFailureRecord): Promise<LoginFailures>;
  /** Forgets the pair's failures (a successful login). */
  clearFailures(pairKey: string): Promise<void>;
  /** true for the first call with `key` within `ttlMs` (so a decision is logged once), false after. */
  claimOnce(key: string, nowMs: number, ttlMs: number): Promise<boolean>;
}

/**
 * The mail outbox (ADR 0022). A message is written by `enqueue`, or by a store method of another
 * table that takes an OutboxMessage and writes it in its own transaction (the token it carries and
 * the message commit together or not at all). Senders claim due messages with a lease: while it
 * holds, no other claim returns the message; once it expired, another sender may claim it again.
 */
export interface OutboxStore {
  /** Stores a queued message, due at once. */
  enqueue(message: OutboxMessage): Promise<void>;
  /**
   * Up to `limit` queued messages that are due (`nextAttemptAt <= nowMs`) and not leased (never, or
   * the lease ended at or before `nowMs`), oldest due first; each is leased to `owner` until
   * `nowMs + leaseMs` and its attempts counted up, atomically: of concurrent claims (processes,
   * instances), each message goes to one.
   */
  claim(claim: OutboxClaim): Promise<ClaimedMessage[]>;
  /** Marks the message sent and erases its body; false when it is no longer queued under `owner`'s claim. */
  markSent(id: string, owner: string, nowMs: number): Promise<boolean>;
  /**
   * Releases `owner`'s claim after a failed attempt: queued again, due at `retryAt`, or given up on
   * (`failed`, body erased) when `retryAt` is undefined. false when it is no longer `owner`'s.
   */
  markFailed(id: string, failure: OutboxFailure): Promise<boolean>;
  /** undefined when no such message. */
  find(id: string): Promise<OutboxEntry | undefined>;
  /** Counts for metrics, `portcullis mail status` and GET /admin/mail/outbox. */
  stats(nowMs: number): Promise<OutboxStats>;
  /**
   * Deletes up to `limit` sent or given-up messages finished before `beforeMs` (never a queued one),
   * in no particular order; how many it deleted. Concurrent prunes may each delete fewer.
   */
  prune(beforeMs: number, limit: number): Promise<number>;
}

/** What a mailed token lets its holder do (issue 14). */
export type MailTokenPurpose = 'password_reset' | 'email_verification' | 'sign_in';

/** A token sent by mail, as stored: the SHA-256 of the token, never the token (issue 14). */
export interface MailTokenRecord {
  readonly id: string;
  readonly userId: string;
  readonly purpose: MailTokenPurpose;
  /** The address the mail went to: for `email_verification`, the address it verifies. */
  readonly email: string;
  /** SHA-256 (hex) of the token. */
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** When it was used or made unusable; null while it can still be used. */
  readonly usedAt: number | null;
}

/** How MailTokenStore.issue writes a token. */
export interface MailTokenIssueOptions {
  /** First make the user's other unused tokens of the record's purpose unusable (at its `createdAt`), in the same transaction. */
  readonly voidEarlier?: boolean;
}

export interface MailTokenStore {
  /** Writes the token and the mail that carries it in one transaction: both or neither. */
  issue(record: MailTokenRecord, mail: OutboxMessage, options?: MailTokenIssueOptions): Promise<void>;
  /** The token with this hash, used or not; undefined when none. */
  find(tokenHash: string): Promise<MailTokenRecord | undefined>;
  /**
   * Uses the token if it has this purpose and is unused and unexpired at `nowMs`, and makes every
   * other unused token of its user and purpose unusable, in one transaction; the record used, or
   * undefined when it was used, expired, unknown or of another purpose (of two concurrent uses, one wins).
   */
  consume(tokenHash: string, purpose: MailTokenPurpose, nowMs: number): Promise<MailTokenRecord | undefined>;
  /** Makes every unused token of the user with this purpose unusable (a password change); how many there were. */
  invalidateAll(userId: string, purpose: MailTokenPurpose, nowMs: number): Promise<number>;
  /** Deletes up to `limit` tokens that expired or were used before `beforeMs`; how many. */
  prune(beforeMs: number, limit: number): Promise<number>;
  /**
   * Verifies an address with its token, in one transaction: uses the `email_verification` token (as
   * `consume`), sets its user's `email` to the token's address, verified, and writes the mail
   * `notice` makes of the change (if any: the old address's notice of an e-mail change); on a change
   * of address, voids the user's unused reset tokens and sign-in links (they went to the old one). undefined
   * when the token cannot be used. Throws EmailTakenError when another account has verified the
   * address meanwhile: nothing is written, and the token stays unused.
   */
  verifyEmail(
    tokenHash: string,
    nowMs: number,
    notice: (change: EmailChange) => OutboxMessage | undefined,
  ): Promise<EmailChange | undefined>;
}

/** What a verification changed: the token used, and the user's address before (null: none). */
export interface EmailChange {
  readonly token: MailTokenRecord;
  readonly previousEmail: string | null;
  /** The address was already the user's, verified or not (not a change of address). */
  readonly sameAddress: boolean;
}
