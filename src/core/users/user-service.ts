/**
 * Managing accounts: create (sign-up, admin, CLI), list, update, enable and
 * disable, remove, set a password. Every field is validated here, once;
 * every change is audited and invalidates what the auth cache holds of it.
 */
import type { ActionContext } from '../action-context.js';
import { SYSTEM } from '../action-context.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Invalidation } from '../auth-cache.js';
import type { Clock } from '../clock.js';
import { InvalidResetTokenError, UserNotFoundError, UsernameTakenError, ValidationError } from '../errors.js';
import { checkPasswordPolicy, type PasswordPolicy } from '../passwords/password-policy.js';
import type { MailTokenStore, PasswordHasher, SessionStore, UserFilter, UserListPage, UserPatch, UserStore } from '../ports.js';
import { parseScopeArray } from '../tokens/scopes.js';
import type { User } from './user.js';
import { emailKey, normalizeEmail, normalizeFullName, normalizeUsername, usernameKey } from './user-fields.js';

export interface CreateUserInput {
  readonly username: string;
  readonly password: string;
  readonly email?: string | null;
  /** An operator says the address is the user's (admin, CLI); sign-up never does. */
  readonly emailVerified?: boolean;
  readonly fullName?: string | null;
  readonly scopes?: readonly string[];
  readonly disabled?: boolean;
  /** An operator requires a second factor of the user (admin, CLI); MFA_POLICY may require one anyway. */
  readonly mfaRequired?: boolean;
}

export interface UpdateUserInput {
  readonly email?: string | null;
  /** Marks the address verified or not; with `email`, says whether the new one is (unverified without it). */
  readonly emailVerified?: boolean;
  readonly fullName?: string | null;
  readonly scopes?: readonly string[];
  readonly disabled?: boolean;
  /** Requires a second factor of the user at their next logins, or no longer (MFA_POLICY still applies). */
  readonly mfaRequired?: boolean;
}

export interface UserServiceDependencies {
  readonly store: UserStore;
  readonly sessions: SessionStore;
  /** Tokens sent by mail: a new password makes the user's unused reset tokens and sign-in links unusable. */
  readonly mailTokens?: MailTokenStore;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly policy: PasswordPolicy;
  readonly defaultScopes: readonly string[];
  readonly audit: AuditLog;
  readonly invalidation: Invalidation;
}

export class UserService {
  private readonly store: UserStore;
  private readonly deps: UserServiceDependencies;

  constructor(deps: UserServiceDependencies) {
    this.deps = deps;
    this.store = deps.store;
  }

  /** Validates every field, applies the password policy, hashes, stores. */
  async create(input: CreateUserInput, context: ActionContext = SYSTEM): Promise<User> {
    const username = normalizeUsername(input.username);
    const email = normalizeEmail(input.email);
    const fullName = normalizeFullName(input.fullName);
    const scopes = checkScopes(input.scopes ?? this.deps.defaultScopes);
    // The password grant's username field takes a verified address, and a username wins over it:
    // a username that is another account's verified address would take that account's login string.
    if (username.includes('@') && (await this.store.findByVerifiedEmail(emailKey(username)))) throw new UsernameTakenError();
    await checkPasswordPolicy(input.password, this.deps.policy, { username });
    const passwordHash = await this.deps.hasher.hash(input.password);
    const user = await this.store.create(
      {
        username,
        usernameKey: usernameKey(username),
        email,
        ...(input.emailVerified === true && email !== null ? { emailVerified: true } : {}),
        fullName,
        passwordHash,
        disabled: input.disabled ?? false,
        scopes,
        ...(input.mfaRequired === true ? { mfaRequired: true } : {}),
      },
      this.deps.clock.now(),
    );
    await this.deps.audit.record({
      type: 'user.created',
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
      details: { scopes: scopes.join(' '), disabled: user.disabled, ...(user.mfaRequired ? { mfa_required: true } : {}) },
    });
    return user;
  }

  find(username: string): Promise<User | undefined> {
    return this.store.findByKey(usernameKey(username));
  }

  async get(username: string): Promise<User> {
    const user = await this.find(username);
    if (!user) throw new UserNotFoundError(username);
    return user;
  }

  /** `prefix` matches the start of the case-folded username. */
  list(filter: UserFilter): Promise<UserListPage> {
    return this.store.list({ ...filter, ...(filter.prefix === undefined ? {} : { prefix: usernameKey(filter.prefix) }) });
  }

  async update(username: string, input: UpdateUserInput, context: ActionContext = SYSTEM): Promise<User> {
    const before = await this.get(username);
    const patch: UserPatch = {
      ...(input.email === undefined ? {} : { email: normalizeEmail(input.email) }),
      ...(input.emailVerified === undefined ? {} : { emailVerified: input.emailVerified }),
      ...(input.fullName === undefined ? {} : { fullName: normalizeFullName(input.fullName) }),
      ...(input.scopes === undefined ? {} : { scopes: checkScopes(input.scopes) }),
      ...(input.disabled === undefined ? {} : { disabled: input.disabled }),
      ...(input.mfaRequired === undefined ? {} : { mfaRequired: input.mfaRequired }),
    };
    const after = await this.store.update(before.usernameKey, patch, this.deps.clock.now());
    if (!after) throw new UserNotFoundError(username);
    // An address set by an operator: a verification link mailed before must not bring back another,
    // and the reset tokens and sign-in links mailed to the old address no longer reach the account.
    if (input.email !== undefined && after.email !== before.email) {
      const now = this.deps.clock.now();
      for (const purpose of ['email_verification', 'password_reset', 'sign_in'] as const) {
        await this.deps.mailTokens?.invalidateAll(after.id, purpose, now);
      }
    }
    this.deps.invalidation.userChanged(after.id);
    await this.deps.audit.record({
      type: 'user.updated',
      outcome: 'success',
      actor: context.actor,
      subject: after.username,
      ip: context.ip,
      details: {
        fields: Object.keys(input)
          .map((field) => API_FIELD_NAMES[field] ?? field)
          .join(' '),
        ...(input.mfaRequired === undefined ? {} : { mfa_required: after.mfaRequired }),
      },
    });
    if (input.disabled !== undefined && input.disabled !== before.disabled) {
      await this.recordDisabled(after, input.disabled, context);
    }
    return after;
  }

  async setDisabled(username: string, disabled: boolean, context: ActionContext = SYSTEM): Promise<void> {
    const user = await this.get(username);
    if (!(await this.store.setDisabled(user.usernameKey, disabled, this.deps.clock.now()))) {
      throw new UserNotFoundError(username);
    }
    this.deps.invalidation.userChanged(user.id);
    await this.recordDisabled(user, disabled, context);
  }

  async remove(username: string, context: ActionContext = SYSTEM): Promise<void> {
    const user = await this.get(username);
    // Removing the user deletes its sessions (ON DELETE CASCADE); revoking them first puts them in the
    // revocation feed, so resource servers refuse their tokens too.
    await this.deps.sessions.revokeAllOfUser(user.id, 'user_removed', this.deps.clock.now());
    if (!(await this.store.remove(user.usernameKey))) throw new UserNotFoundError(username);
    this.deps.invalidation.userChanged(user.id);
    this.deps.invalidation.sessionsOfUserChanged(user.id);
    await this.deps.audit.record({
      type: 'user.removed',
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
    });
  }

  /**
   * Sets a new password (admin or CLI). Every access token issued before
   * stops working and every session of the user ends, except `keepSessionId`;
   * every unused password reset token of the user becomes unusable.
   */
  async setPassword(username: string, password: string, context: ActionContext = SYSTEM, keepSessionId?: string): Promise<User> {
    const user = await this.get(username);
    await checkPasswordPolicy(password, this.deps.policy, { username: user.username });
    const passwordHash = await this.deps.hasher.hash(password);
    return this.applyPassword(user, passwordHash, 'password.changed', context, keepSessionId);
  }

  /**
   * A password reset (core/passwords/password-reset.ts): the policy and the hash as for
   * setPassword, then `claim` uses the token (false: it was used meanwhile, or expired), and only
   * then the password changes. Every session ends.
   */
  async resetPassword(user: User, password: string, claim: () => Promise<boolean>, context: ActionContext): Promise<User> {
    await checkPasswordPolicy(password, this.deps.policy, { username: user.username });
    const passwordHash = await this.deps.hasher.hash(password);
    if (!(await claim())) throw new InvalidResetTokenError();
    return this.applyPassword(user, passwordHash, 'password.reset', { ...context, actor: user.username });
  }

  private async applyPassword(
    user: User,
    passwordHash: string,
    auditType: 'password.changed' | 'password.reset',
    context: ActionContext,
    keepSessionId?: string,
  ): Promise<User> {
    const now = this.deps.clock.now();
    const changed = await this.store.changePassword(user.usernameKey, passwordHash, now);
    if (!changed) throw new UserNotFoundError(user.username);
    // The kept session's tokens issued before now carry the old version: the revocation feed says so too.
    const keep = keepSessionId === undefined ? undefined : { sessionId: keepSessionId, minTokenVersion: changed.tokenVersion };
    const ended = await this.deps.sessions.revokeAllOfUser(user.id, 'password_changed', now, keep);
    // A reset or sign-in link mailed before the change must not undo it.
    const resetsVoided = (await this.deps.mailTokens?.invalidateAll(user.id, 'password_reset', now)) ?? 0;
    const linksVoided = (await this.deps.mailTokens?.invalidateAll(user.id, 'sign_in', now)) ?? 0;
    this.deps.invalidation.userChanged(user.id);
    this.deps.invalidation.sessionsOfUserChanged(user.id);
    await this.deps.audit.record({
      type: auditType,
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
      details: {
        sessions_ended: ended.length,
        ...(resetsVoided > 0 ? { reset_tokens_voided: resetsVoided } : {}),
        ...(linksVoided > 0 ? { sign_in_links_voided: linksVoided } : {}),
      },
    });
    return changed;
  }

  /**
   * Disabling ends every session of the user, so that enabling the account
   * again (after a compromise, say) does not bring the old tokens back.
   */
  private async recordDisabled(user: User, disabled: boolean, context: ActionContext): Promise<void> {
    if (disabled) {
      await this.deps.sessions.revokeAllOfUser(user.id, 'user_disabled', this.deps.clock.now());
      this.deps.invalidation.sessionsOfUserChanged(user.id);
    }
    await this.deps.audit.record({
      type: disabled ? 'user.disabled' : 'user.enabled',
      outcome: 'success',
      actor: context.actor,
      subject: user.username,
      ip: context.ip,
    });
  }
}

/** Field names as the API spells them, for the audit log. */
const API_FIELD_NAMES: Readonly<Record<string, string>> = {
  fullName: 'full_name',
  emailVerified: 'email_verified',
  mfaRequired: 'mfa_required',
};

function checkScopes(scopes: readonly string[]): string[] {
  try {
    // Each item is one scope: 'no good' is refused, not read as two scopes.
    return parseScopeArray(scopes);
  } catch (error) {
    throw new ValidationError('scopes', `Invalid scopes: ${(error as Error).message}`);
  }
}
