/**
 * Authenticated encryption at rest (AES-256-GCM from node:crypto) under a
 * key derived from SECRET_KEY with HKDF, one derived key per purpose. The
 * associated data binds a box to the row it belongs to.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SealedBox {
  private readonly key: Buffer;

  constructor(secretKey: string, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), 'portcullis', purpose, 32));
  }

  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }

  /** undefined when the box was not sealed under this key and associated data, or was altered. */
  open(sealed: string, associatedData: string): string | undefined {
    try {
      const box = Buffer.from(sealed, 'base64url');
      if (box.length < IV_BYTES + TAG_BYTES + 1) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', this.key, box.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
      return Buffer.concat([decipher.update(box.subarray(IV_BYTES, box.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
