/**
 * Sends one logout token (Back-Channel Logout 1.0 §2.5): a POST of
 * `application/x-www-form-urlencoded` `logout_token=...` to the client's backchannel_logout_uri,
 * with a time-out, no redirects followed, no cookies. A 2xx answer is delivered. A 4xx other than
 * 408 and 429 is the client saying no to this token (§2.8: 400 for a token it refuses), so trying
 * again cannot help; anything else (5xx, no answer, a time-out) is tried again by the relay.
 */
import type { Clock } from '../clock.js';
import type { RelayTransport } from '../outbox/outbox-relay.js';
import type { ClaimedLogoutDelivery } from './logout-delivery.js';
import { logoutTokenClaims, type LogoutTokenSigner } from './logout-token.js';

/** A delivery that failed; `permanent` when the client refused it so that trying again cannot help. */
export class BackChannelError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackChannelError';
  }
}

export interface BackChannelTransportOptions {
  readonly signer: LogoutTokenSigner;
  readonly issuer: string;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

export class BackChannelTransport implements RelayTransport<ClaimedLogoutDelivery> {
  constructor(private readonly options: BackChannelTransportOptions) {}

  async send(delivery: ClaimedLogoutDelivery): Promise<void> {
    const { signer, issuer, clock, timeoutMs } = this.options;
    // Signed now, not when queued: the token's exp is two minutes, and a retry may come later.
    const token = await signer.sign(logoutTokenClaims(delivery, issuer, clock.now()), 'logout+jwt');
    let response: Response;
    try {
      response = await fetch(delivery.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(error);
      throw new BackChannelError(`POST to the client failed: ${reason}`, false, { cause: error });
    }
    // The body is not needed; read it so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return;
    const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
    throw new BackChannelError(`the client answered ${response.status}`, permanent);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
