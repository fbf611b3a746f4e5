/** Table types for Kysely. Portable column types only (text, integer), so one schema serves every dialect. */
import type { ColumnType, Generated } from 'kysely';

export interface UsersTable {
  id: string;
  username: string;
  username_key: string;
  email: string | null;
  /** emailKey(email): the address lower-cased; null when email is. */
  email_key: string | null;
  /** 0 or 1; verified addresses are unique (a partial unique index on email_key). */
  email_verified: number;
  full_name: string | null;
  password_hash: string;
  /** 0 or 1. */
  disabled: number;
  /** Space-separated scope tokens. */
  scopes: string;
  /** ISO 8601, UTC. */
  created_at: string;
  updated_at: string;
  /** Bumped when the password changes: access tokens carry it as `ver`. */
  token_version: number;
  /** 0 or 1: an administrator requires a second factor of this user (migration 0010). */
  mfa_required: number;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  client_id: string | null;
  scope: string;
  created_at: string;
  last_used_at: string;
  idle_expires_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  revoked_at: string | null;
  revoked_reason: string | null;
  /** Space-separated RFC 8176 values; null on sessions opened before migration 0008 (a password login). */
  amr: string | null;
  acr: string | null;
  /** ISO; null: the session's created_at. */
  auth_time: string | null;
  /** The hosted pages' session whose code opened this one (migration 0012); null for every other login. */
  browser_session_id: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  /** SHA-256 (hex) of the secret part; the secret itself is never stored. */
  secret_hash: string;
  created_at: string;
  rotated_at: string | null;
  successor_id: string | null;
  /** The successor token, AES-256-GCM sealed, for retries within the grace window. */
  successor_sealed: string | null;
}

export interface ClientsTable {
  id: string;
  name: string;
  /** '' for a public client (migration 0011), which has no secret. */
  secret_hash: string;
  scopes: string;
  created_at: string;
  /** `confidential` or `public` (migration 0011). */
  type: string;
  /** Space-separated exact URIs (none contains whitespace). */
  redirect_uris: string;
  /** Space-separated ClientGrantType values. */
  grant_types: string;
  /** 0 or 1: skips the consent page. */
  first_party: number;
  post_logout_redirect_uris: string;
  /** '' when the client takes no back-channel logout tokens (migration 0012). */
  backchannel_logout_uri: string;
}

/** Back-channel logout tokens to send (migration 0012): an outbox with leases, as mail_outbox. */
export interface LogoutDeliveriesTable {
  id: string;
  client_id: string;
  uri: string;
  user_id: string;
  browser_session_id: string;
  /** queued, sent or failed */
  status: string;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  finished_at: string | null;
  last_error: string | null;
}

/** Authorization codes (migration 0011), keyed by the SHA-256 (hex) of the code, never the code. */
export interface AuthorizationCodesTable {
  code_hash: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  /** 0 or 1: the request named redirect_uri (else the one registered was used), so the exchange must name it too. */
  redirect_uri_given: number;
  /** The PKCE S256 challenge (base64url). */
  code_challenge: string;
  scope: string;
  nonce: string | null;
  /** The browser session the code was issued from. */
  browser_session_id: string;
  amr: string;
  acr: string;
  auth_time: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  /** The session the exchange opened: a second exchange revokes it. */
  session_id: string | null;
}

/** What a user allowed a client (migration 0011): one row per user and client, the scopes allowed so far. */
export interface ClientConsentsTable {
  id: string;
  user_id: string;
  client_id: string;
  scope: string;
  granted_at: string;
}

export interface AuditEventsTable {
  id: string;
  at: string;
  type: string;
  outcome: string;
  actor: string | null;
  subject: string | null;
  ip: string | null;
  /** JSON object; never a secret. */
  details: string | null;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  state: string;
  /** JSON of the public JWK. */
  public_jwk: string;
  private_sealed: string;
  created_at: string;
  activated_at: string | null;
  retired_at: string | null;
}

/**
 * The revocation feed's log: one row per revoked session, numbered in commit
 * order by revocation_sequence. bigint columns come back as strings from
 * PostgreSQL and as numbers from SQLite.
 */
export interface SessionRevocationsTable {
  seq: ColumnType<number | string, number, never>;
  session_id: string;
  /** null: every token of the session; otherwise only tokens whose `ver` is below it (a password change that kept this session). */
  min_token_version: number | null;
  revoked_at: string;
}

/** One row (id 1): the last number given to a revocation, and the highest number pruned from the log. */
export interface RevocationSequenceTable {
  id: number;
  last_seq: ColumnType<number | string, number, number>;
  pruned_through: ColumnType<number | string, number, number>;
}

/** The mail outbox (ADR 0022). Times are ISO text; the body is erased ('') once sent or given up on. */
export interface MailOutboxTable {
  id: string;
  kind: string;
  recipient: string;
  subject: string;
  body_text: string;
  body_html: string;
  /** queued, sent or failed. */
  status: string;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  finished_at: string | null;
  last_error: string | null;
}

/** Tokens sent by mail (issue 14): the SHA-256 (hex) of the token, never the token. Times are ISO text. */
export interface MailTokensTable {
  id: string;
  user_id: string;
  /** A MailTokenPurpose. */
  purpose: string;
  /** The address the mail went to (for a verification, the address it verifies). */
  email: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  /** When it was used, or made unusable (another token of the user used, or the password changed). */
  used_at: string | null;
}

/** A user's second factors (ADR 0024). The secret is sealed (SealedBox, the row's id as associated data). */
export interface AuthFactorsTable {
  id: string;
  user_id: string;
  /** A FactorKind. */
  kind: string;
  name: string;
  secret_sealed: string;
  created_at: string;
  /** null while the enrolment waits for its first code. */
  confirmed_at: string | null;
  last_used_at: string | null;
  /** The TOTP time step of the last accepted code: a code of that step or an earlier one is refused. */
  last_step: number | null;
  /** WebAuthn, pending: the registration options' challenge (base64url). */
  webauthn_challenge: string | null;
  /** WebAuthn, confirmed: the credential id (base64url, unique). */
  credential_id: string | null;
  /** WebAuthn: the COSE public key (base64url). */
  public_key: string | null;
  /** WebAuthn: the authenticator's signature counter (bigint: PostgreSQL may answer a string). */
  sign_count: number | string | null;
  /** WebAuthn: the transports, space-separated. */
  transports: string | null;
  /** WebAuthn: `singleDevice` or `multiDevice`. */
  device_type: string | null;
  /** WebAuthn: the backup state flag (0 or 1). */
  backed_up: number | null;
}

/** Single-use recovery codes: the SHA-256 (hex) of the code, never the code. */
export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

/** The state behind an mfa_token, keyed by the token's SHA-256 (hex). */
export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  token_version: number;
  /** How the first step was proved: an RFC 8176 value (`pwd`) or `link`. */
  first_factor: string;
  scope: string;
  client_id: string | null;
  /** The login guard's ticket of the password attempt (JSON), for the bookkeeping of the completed login. */
  guard_ticket: string | null;
  /** The challenge of the WebAuthn options the mfa_required answer carried. */
  webauthn_challenge: string | null;
  attempts: number;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  /** The pending factor POST /mfa/enrol started with this token (migration 0010); null otherwise. */
  enrolment_factor_id: string | null;
}

/** The challenges of passkey-login options: their SHA-256 (hex), each usable once before it expires. */
export interface WebAuthnLoginChallengesTable {
  challenge_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  clients: ClientsTable;
  audit_events: AuditEventsTable;
  signing_keys: SigningKeysTable;
  session_revocations: SessionRevocationsTable;
  revocation_sequence: RevocationSequenceTable;
  mail_outbox: MailOutboxTable;
  mail_tokens: MailTokensTable;
  auth_factors: AuthFactorsTable;
  recovery_codes: RecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  webauthn_login_challenges: WebAuthnLoginChallengesTable;
  authorization_codes: AuthorizationCodesTable;
  client_consents: ClientConsentsTable;
  logout_deliveries: LogoutDeliveriesTable;
}

export type { Generated };
