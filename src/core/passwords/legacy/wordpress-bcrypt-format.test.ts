import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifySync } from '@node-rs/bcrypt';
import { checkImportableHash, identifyHash } from './hash-formats.js';

// Made by PHP running the two lines of WordPress 6.8's wp_hash_password (wp-includes/pluggable.php):
// test/fixtures/import-sources/make-wordpress-export.php (bcrypt cost 4).
const WP68 = { password: 'wanda-password-1', hash: '$wp$2y$04$YNDWt0ab2TTwTSBDLH/ly.zsQweTC6nyqt8iajfT7S9mPELw8HkvG' };

function verify(stored: string, password: string): boolean {
  const identified = identifyHash(stored);
  assert.ok(identified && identified.verification.op === 'bcrypt-verify');
  const input = identified.verification.input(password);
  return verifySync(input.password, input.hash);
}

describe('WordPress 6.8+ $wp$ bcrypt', () => {
  it('verifies a hash made by WordPress code, and refuses a wrong password', () => {
    assert.equal(verify(WP68.hash, WP68.password), true);
    assert.equal(verify(WP68.hash, `${WP68.password}x`), false);
  });

  it('is not bcrypt of the password itself: the pre-hash is what bcrypt saw', () => {
    assert.equal(verifySync(WP68.password, WP68.hash.slice(3)), false);
  });

  it('is identified with its cost, and bounded like bcrypt', () => {
    const identified = checkImportableHash(WP68.hash);
    assert.ok(identified.ok);
    assert.equal(identified.hash.kind, 'wordpress-bcrypt');
    assert.deepEqual(identified.hash.params, { cost: 4 });
    const dear = checkImportableHash(WP68.hash.replace('$04$', '$17$'));
    assert.equal(dear.ok, false);
    assert.match(
      checkImportableHash('$wp$2y$04$short').ok ? '' : (checkImportableHash('$wp$2y$04$short') as { reason: string }).reason,
      /looks like a WordPress bcrypt hash but is malformed/,
    );
  });
});
