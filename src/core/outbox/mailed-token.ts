/**
 * A single-use token sent by mail (issue 14, ADR 0023): a password reset, an address to verify, a
 * sign-in link. One place for what the three share: a token is 256 random bits (base64url, 43
 * characters), stored only as its SHA-256, and written with the mail that carries it in one
 * transaction (MailTokenStore.issue, ADR 0022); a token past MAX_MAILED_TOKEN_LENGTH is refused
 * without a look-up; a mail says its expiry as `YYYY-MM-DD HH:MM UTC`.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { MailUnavailableError } from '../errors.js';
import type { MailTokenPurpose, MailTokenStore } from '../ports.js';
import { hashSecret, randomToken } from '../secrets.js';
import type { User } from '../users/user.js';
import type { MailKindName, MailValues } from './mail-templates.js';
import type { Mailer } from './mailer.js';

/** 256 bits. */
export const MAILED_TOKEN_BYTES = 32;
/** A token longer than this is not one of ours (43 characters): refused without a look-up. */
export const MAX_MAILED_TOKEN_LENGTH = 128;

/** Whether `token` could be one of ours: not empty, not past MAX_MAILED_TOKEN_LENGTH. */
export function isMailedTokenShape(token: string): boolean {
  return token.length > 0 && token.length <= MAX_MAILED_TOKEN_LENGTH;
}

/** A mail's `expires_at`: `YYYY-MM-DD HH:MM UTC`. */
export function mailExpiry(expiresAtMs: number): string {
  return `${new Date(expiresAtMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** One token to mail: for whom, to which address, what it is for, and the mail that carries it. */
export interface MailedTokenRequest<K extends MailKindName> {
  readonly user: User;
  /** Where the mail goes (for `email_verification`, the address it verifies). */
  readonly email: string;
  readonly purpose: MailTokenPurpose;
  readonly ttlMs: number;
  readonly kind: K;
  /** The mail's values, given the token and its `expires_at` (mailExpiry). */
  readonly values: (token: string, expiresAt: string) => MailValues<K>;
  /** Void the user's earlier unused tokens of this purpose, in the same transaction (a new verification mail). */
  readonly voidEarlier?: boolean;
}

export interface MailedTokensDependencies {
  readonly store: MailTokenStore;
  /** undefined: the library without a mail channel (issue answers MailUnavailableError). */
  readonly mailer: Mailer | undefined;
  readonly clock: Clock;
}

export class MailedTokens {
  constructor(private readonly deps: MailedTokensDependencies) {}

  /** Makes a token and writes it with its mail (both or neither), then wakes the relay. */
  async issue<K extends MailKindName>(request: MailedTokenRequest<K>): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) throw new MailUnavailableError();
    const token = randomToken(MAILED_TOKEN_BYTES);
    const createdAt = this.deps.clock.now();
    const expiresAt = createdAt + request.ttlMs;
    const mail = mailer.compose(request.kind, request.email, request.values(token, mailExpiry(expiresAt)));
    await this.deps.store.issue(
      {
        id: randomUUID(),
        userId: request.user.id,
        purpose: request.purpose,
        email: request.email,
        tokenHash: hashSecret(token),
        createdAt,
        expiresAt,
        usedAt: null,
      },
      mail,
      { voidEarlier: request.voidEarlier ?? false },
    );
    mailer.queued();
  }
}
