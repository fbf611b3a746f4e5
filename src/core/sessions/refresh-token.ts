/**
 * Refresh tokens: `<id>.<secret>`, the id 128 bits and the secret 256 bits
 * from the CSPRNG, both base64url. Only a SHA-256 of the secret is stored
 * and compared in constant time. A retired token keeps its successor in a
 * SealedBox (AES-256-GCM under a key derived from SECRET_KEY), so that a
 * retry within the grace window gets the same successor (ADR 0004).
 */
import { SealedBox } from '../sealed-box.js';
import { hashSecret, randomToken } from '../secrets.js';

const ID_BYTES = 16;
const SECRET_BYTES = 32;
const TOKEN_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface NewRefreshToken {
  readonly id: string;
  readonly secretHash: string;
  /** The whole token, for the client only. Never stored, never logged. */
  readonly token: string;
}

export function generateRefreshToken(): NewRefreshToken {
  const id = randomToken(ID_BYTES);
  const secret = randomToken(SECRET_BYTES);
  return { id, secretHash: hashSecret(secret), token: `${id}.${secret}` };
}

export interface ParsedRefreshToken {
  readonly id: string;
  readonly secret: string;
}

export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  const match = TOKEN_SHAPE.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** Seals and opens successor tokens; the retired token's id is the associated data. */
export class SuccessorSealer {
  private readonly box: SealedBox;

  constructor(secretKey: string) {
    this.box = new SealedBox(secretKey, 'refresh-successor/v1');
  }

  seal(successorToken: string, retiredId: string): string {
    return this.box.seal(successorToken, retiredId);
  }

  /** undefined when the box was not sealed by this key for this token. */
  open(sealed: string, retiredId: string): string | undefined {
    return this.box.open(sealed, retiredId);
  }
}
