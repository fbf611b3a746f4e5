/**
 * Refresh tokens: `<id>.<secret>`, the id 128 bits and the secret 256 bits
 * from the CSPRNG, both base64url. Only a SHA-256 of the secret is stored
 * and compared in constant time. A retired token keeps its successor sealed
 * with AES-256-GCM (node:crypto) under a key derived from SECRET_KEY with
 * HKDF, so that a retry within the grace window gets the same successor.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
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
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), 'portcullis', 'refresh-successor/v1', 32));
  }

  seal(successorToken: string, retiredId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(retiredId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(successorToken, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }

  /** undefined when the box was not sealed by this key for this token. */
  open(sealed: string, retiredId: string): string | undefined {
    try {
      const box = Buffer.from(sealed, 'base64url');
      if (box.length < 12 + 16 + 1) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', this.key, box.subarray(0, 12));
      decipher.setAAD(Buffer.from(retiredId, 'utf8'));
      decipher.setAuthTag(box.subarray(box.length - 16));
      return Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
