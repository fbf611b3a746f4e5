/**
 * WebAuthn authenticators (passkeys, security keys) as factors (issue 15, ADR 0025), through
 * @simplewebauthn/server: the registration ceremony (options, then the authenticator's answer), an
 * assertion as a login's second step, and, with PASSKEY_LOGIN=on, a passkey login of its own
 * (discoverable credentials, user verification required). The relying party is the deployment:
 * its id and origins come from PUBLIC_URL unless set (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS).
 *
 * Every challenge is used once: a registration's is kept on its pending factor, a second step's on
 * its mfa_token, a passkey login's (only its SHA-256) in the store until an assertion spends it.
 * The signature counter is kept and a lower one refused (a cloned authenticator, WebAuthn §6.1.1);
 * the counter's UPDATE is conditional on the one the check read, so two ceremonies racing on one
 * credential get one success.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Clock } from '../clock.js';
import { InvalidWebAuthnResponseError } from '../errors.js';
import { hashSecret } from '../secrets.js';
import type { User } from '../users/user.js';
import type { FactorStore, WebAuthnCredential, WebAuthnFactor } from './factor.js';

/** How long the browser may take for a ceremony, and how long its challenge is good for. */
export const WEBAUTHN_TIMEOUT_MS = 5 * 60_000;

/** The deployment as a WebAuthn relying party. */
export interface RelyingParty {
  /** The RP ID: the host name credentials are scoped to (the PUBLIC_URL's, or a registrable suffix of it). */
  readonly id: string;
  /** What authenticators show beside the credential (PRODUCT_NAME). */
  readonly name: string;
  /** The page origins a ceremony may come from (the PUBLIC_URL's origin unless set). */
  readonly origins: readonly string[];
}

export interface WebAuthnSettings {
  readonly relyingParty: RelyingParty;
  /** PASSKEY_LOGIN: a passkey alone may sign in (discoverable credentials, user verification required). */
  readonly passkeyLogin: boolean;
}

/** A confirmed WebAuthn factor, with its credential. */
export type RegisteredWebAuthnFactor = WebAuthnFactor & { readonly credential: WebAuthnCredential };

const TRANSPORTS: ReadonlySet<string> = new Set<AuthenticatorTransportFuture>([
  'ble',
  'cable',
  'hybrid',
  'internal',
  'nfc',
  'smart-card',
  'usb',
]);

/** The credential's public parts as @simplewebauthn/server takes them. */
function libraryCredential(credential: WebAuthnCredential) {
  return {
    id: credential.credentialId,
    publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')),
    counter: credential.signCount,
    transports: knownTransports(credential.transports),
  };
}

function knownTransports(transports: readonly string[] | undefined): AuthenticatorTransportFuture[] {
  return (transports ?? []).filter((t): t is AuthenticatorTransportFuture => TRANSPORTS.has(t));
}

/**
 * The browser's answer, as a client sends it: the JSON of PublicKeyCredential.toJSON() (or
 * @simplewebauthn/browser's). Only the shape is checked here; the library checks the rest.
 */
export function parseAuthenticationResponse(value: unknown): AuthenticationResponseJSON {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new InvalidWebAuthnResponseError('The WebAuthn response is not JSON');
    }
  }
  const candidate = parsed as Partial<AuthenticationResponseJSON> | null;
  const response = candidate?.response as Partial<AuthenticationResponseJSON['response']> | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.id !== 'string' ||
    typeof candidate.rawId !== 'string' ||
    candidate.type !== 'public-key' ||
    typeof response !== 'object' ||
    response === null ||
    typeof response.clientDataJSON !== 'string' ||
    typeof response.authenticatorData !== 'string' ||
    typeof response.signature !== 'string' ||
    (response.userHandle !== undefined && typeof response.userHandle !== 'string')
  ) {
    throw new InvalidWebAuthnResponseError('The WebAuthn response is not a PublicKeyCredential (id, rawId, type, response)');
  }
  return candidate as AuthenticationResponseJSON;
}

export class WebAuthnCeremonies {
  constructor(
    private readonly deps: {
      readonly store: FactorStore;
      readonly clock: Clock;
      readonly settings: WebAuthnSettings;
    },
  ) {}

  get passkeyLogin(): boolean {
    return this.deps.settings.passkeyLogin;
  }

  /** The options of a registration; `existing` are the user's credentials, which the authenticator must not register again. */
  registrationOptions(user: User, existing: readonly WebAuthnCredential[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { relyingParty } = this.deps.settings;
    return generateRegistrationOptions({
      rpName: relyingParty.name,
      rpID: relyingParty.id,
      userName: user.username,
      // The user handle: the account's random id, never a name or an address (WebAuthn §14.6.1).
      userID: new Uint8Array(Buffer.from(user.id, 'utf8')),
      userDisplayName: user.fullName ?? user.username,
      timeout: WEBAUTHN_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: knownTransports(c.transports) })),
      // A discoverable credential (a passkey) when the authenticator can, so that PASSKEY_LOGIN can use it later.
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
  }

  /** Checks the authenticator's answer to a registration; the credential to keep. */
  async verifyRegistration(response: RegistrationResponseJSON, expectedChallenge: string): Promise<WebAuthnCredential> {
    const { relyingParty } = this.deps.settings;
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge,
        expectedOrigin: [...relyingParty.origins],
        expectedRPID: relyingParty.id,
        requireUserVerification: false,
      });
    } catch (error) {
      throw new InvalidWebAuthnResponseError(`The registration does not verify: ${(error as Error).message}`);
    }
    if (!verified.verified) throw new InvalidWebAuthnResponseError('The registration does not verify');
    const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    return {
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      signCount: credential.counter,
      transports: knownTransports(credential.transports ?? response.response.transports),
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
    };
  }

  /** The options of a second step with one of these credentials (the mfa_required answer carries them). */
  secondFactorOptions(credentials: readonly WebAuthnCredential[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.deps.settings.relyingParty.id,
      allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: knownTransports(c.transports) })),
      userVerification: 'preferred',
      timeout: WEBAUTHN_TIMEOUT_MS,
    });
  }

  /** Checks an assertion of the user's as a second step bound to `expectedChallenge`; the factor it used. */
  async verifySecondFactor(user: User, response: AuthenticationResponseJSON, expectedChallenge: string): Promise<RegisteredWebAuthnFactor> {
    const factor = await this.deps.store.findByCredentialId(response.id);
    if (!factor || factor.userId !== user.id) throw new InvalidWebAuthnResponseError('Not a registered authenticator of this account');
    await this.verifyAssertion(factor, response, expectedChallenge, false);
    return factor;
  }

  /** The options of a passkey login (PASSKEY_LOGIN=on): no credential named, user verification required. */
  async loginOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.deps.settings.relyingParty.id,
      userVerification: 'required',
      timeout: WEBAUTHN_TIMEOUT_MS,
    });
    const now = this.deps.clock.now();
    await this.deps.store.createLoginChallenge(hashSecret(options.challenge), now, now + WEBAUTHN_TIMEOUT_MS);
    return options;
  }

  /**
   * Checks a passkey login's assertion: its challenge one this server handed out and not used
   * (spent by this check, right or wrong), the credential registered, the user verified, the
   * signature and counter right. The factor it used; InvalidWebAuthnResponseError otherwise.
   */
  async verifyLogin(response: AuthenticationResponseJSON): Promise<RegisteredWebAuthnFactor> {
    const factor = await this.deps.store.findByCredentialId(response.id);
    if (!factor) throw new InvalidWebAuthnResponseError('Not a registered passkey');
    const { store, clock } = this.deps;
    const spend = (challenge: string) => store.useLoginChallenge(hashSecret(challenge), clock.now());
    await this.verifyAssertion(factor, response, spend, true);
    return factor;
  }

  private async verifyAssertion(
    factor: RegisteredWebAuthnFactor,
    response: AuthenticationResponseJSON,
    expectedChallenge: string | ((challenge: string) => Promise<boolean>),
    requireUserVerification: boolean,
  ): Promise<void> {
    const { relyingParty } = this.deps.settings;
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: [...relyingParty.origins],
        expectedRPID: relyingParty.id,
        credential: libraryCredential(factor.credential),
        requireUserVerification,
      });
    } catch (error) {
      throw new InvalidWebAuthnResponseError(`The assertion does not verify: ${(error as Error).message}`);
    }
    if (!verified.verified) throw new InvalidWebAuthnResponseError('The assertion does not verify');
    const { newCounter, credentialBackedUp } = verified.authenticationInfo;
    const recorded = await this.deps.store.useCredential(
      factor.id,
      factor.credential.signCount,
      newCounter,
      credentialBackedUp,
      this.deps.clock.now(),
    );
    if (!recorded) throw new InvalidWebAuthnResponseError('The authenticator was used concurrently; try again');
  }
}
