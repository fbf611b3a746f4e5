import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcryptjs from 'bcryptjs';
import { hash as argon2Hash } from '@node-rs/argon2';
import { LEGACY_HASHES } from '../../../test/helpers/legacy-hashes.js';
import { OWASP_ARGON2 } from '../config.js';
import { OverloadedError } from '../errors.js';
import { Argon2PasswordHasher, hashKind, isSupportedHash } from './password-hasher.js';
import { WorkLimiter } from './work-limiter.js';

const PASSWORD = 'correct horse battery staple';
const OWASP_PREFIX = '$argon2id$v=19$m=19456,t=2,p=1$';

function makeHasher(limiter = new WorkLimiter(4, 64)): Argon2PasswordHasher {
  return new Argon2PasswordHasher(OWASP_ARGON2, limiter);
}

/** A bcrypt hash at cost 4 with the given minor version ($2a$, $2b$ or $2y$). bcryptjs takes the minor from the salt. */
function bcryptHash(password: string, minor: 'a' | 'b' | 'y'): string {
  const salt = bcryptjs.genSaltSync(4).replace(/^\$2b\$/, `$2${minor}$`);
  return bcryptjs.hashSync(password, salt);
}

/** Holds the limiter's only slot until release() is called. */
function occupy(limiter: WorkLimiter): { release: () => void; done: Promise<void> } {
  let release: () => void = () => undefined;
  const done = limiter.run(() => new Promise<void>((resolve) => (release = resolve)));
  return { release: () => release(), done };
}

describe('Argon2PasswordHasher', () => {
  const hasher = makeHasher();

  describe('hash', () => {
    it('produces argon2id v19 at the OWASP parameters', async () => {
      const stored = await hasher.hash(PASSWORD);
      assert.ok(stored.startsWith(OWASP_PREFIX), stored);
      assert.equal(hashKind(stored), 'argon2id');
    });

    it('salts every hash', async () => {
      assert.notEqual(await hasher.hash(PASSWORD), await hasher.hash(PASSWORD));
    });

    it('never contains the password', async () => {
      assert.ok(!(await hasher.hash(PASSWORD)).includes(PASSWORD));
    });

    it('runs through the work limiter', async () => {
      const limiter = new WorkLimiter(1, 0);
      const busy = occupy(limiter);
      await assert.rejects(makeHasher(limiter).hash(PASSWORD), OverloadedError);
      busy.release();
      await busy.done;
    });
  });

  describe('verify with argon2id', () => {
    it('returns true for the right password and false for a wrong one', async () => {
      const stored = await hasher.hash(PASSWORD);
      assert.equal(await hasher.verify(stored, PASSWORD), true);
      assert.equal(await hasher.verify(stored, 'correct horse battery stapler'), false);
      assert.equal(await hasher.verify(stored, ''), false);
    });

    it('accepts the ASCII and the fullwidth form of a password either way round (both hash as NFKC)', async () => {
      const fromFullwidth = await hasher.hash('ｐａｓｓｗｏｒｄ１２３');
      assert.equal(await hasher.verify(fromFullwidth, 'password123'), true);
      assert.equal(await hasher.verify(fromFullwidth, 'ｐａｓｓｗｏｒｄ１２３'), true);
      const fromAscii = await hasher.hash('password123');
      assert.equal(await hasher.verify(fromAscii, 'ｐａｓｓｗｏｒｄ１２３'), true);
      assert.equal(await hasher.verify(fromAscii, 'Password123'), false);
    });

    it('returns false, not an error, for a corrupted argon2id hash', async () => {
      const stored = await hasher.hash(PASSWORD);
      assert.equal(await hasher.verify(stored.slice(0, -10), PASSWORD), false);
      assert.equal(await hasher.verify('$argon2id$garbage', PASSWORD), false);
    });
  });

  describe('verify with imported bcrypt hashes', () => {
    for (const minor of ['a', 'b'] as const) {
      it(`verifies a $2${minor}$ hash made by bcryptjs`, async () => {
        const stored = bcryptHash(PASSWORD, minor);
        assert.ok(stored.startsWith(`$2${minor}$04$`), stored);
        assert.equal(await hasher.verify(stored, PASSWORD), true);
        assert.equal(await hasher.verify(stored, 'Correct horse battery staple'), false);
      });
    }

    it('verifies a $2y$ hash (a $2b$ hash with the PHP prefix)', async () => {
      const stored = bcryptHash(PASSWORD, 'b').replace(/^\$2b\$/, '$2y$');
      assert.equal(hashKind(stored), 'bcrypt');
      assert.equal(await hasher.verify(stored, PASSWORD), true);
      assert.equal(await hasher.verify(stored, 'wrong password'), false);
    });

    it('compares bcrypt passwords exactly as typed, without NFKC', async () => {
      const stored = bcryptHash('ｐａｓｓｗｏｒｄ１２３', 'b');
      assert.equal(await hasher.verify(stored, 'ｐａｓｓｗｏｒｄ１２３'), true);
      assert.equal(await hasher.verify(stored, 'password123'), false);
    });
  });

  describe('verify with imported legacy hashes', () => {
    it('verifies every format made by the sources’ tooling, on libuv’s pool, and upgrades each', async () => {
      for (const { source, hash, password } of LEGACY_HASHES) {
        assert.equal(await hasher.verify(hash, password), true, `${source}: ${hash}`);
        assert.equal(await hasher.verify(hash, password.slice(0, -1)), false, source);
        assert.equal(hasher.needsRehash(hash), true, source);
      }
    });

    it('runs legacy verification through the work limiter', async () => {
      const limiter = new WorkLimiter(1, 0);
      const busy = occupy(limiter);
      const { hash, password } = LEGACY_HASHES.find((fixture) => fixture.source.startsWith('passlib pbkdf2'))!;
      await assert.rejects(makeHasher(limiter).verify(hash, password), OverloadedError);
      busy.release();
      await busy.done;
    });

    it('verifies an imported argon2id hash of a password as typed, even when NFKC would change it', async () => {
      // Another system hashed the fullwidth password as it was typed; Portcullis would have hashed "password123".
      const stored = await argon2Hash('ｐａｓｓｗｏｒｄ１２３', { memoryCost: 1024, timeCost: 1, parallelism: 1 });
      assert.equal(await hasher.verify(stored, 'ｐａｓｓｗｏｒｄ１２３'), true);
      assert.equal(await hasher.verify(stored, 'password123'), false);
    });

    it('verifies nothing against a hash an import would refuse (a hand-written row)', async () => {
      const absurd = '$pbkdf2-sha256$9999999$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ';
      assert.equal(await hasher.verify(absurd, 'password'), false);
    });
  });

  describe('verify with an unknown hash format', () => {
    it('returns false even for the stored text itself', async () => {
      for (const stored of [
        'password123',
        '',
        '$2x$04$abcdefghijklmnopqrstuu5Y1.7QTe0m4pEe1yl6yH8yXjqTa1Uou',
        '$1$salt$qJH7.N4xYta3aEG/dfqo/0',
        '$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', // a 12-byte digest: refused
        '$argon2d$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g',
      ]) {
        assert.equal(await hasher.verify(stored, stored), false, stored);
        assert.equal(await hasher.verify(stored, 'password123'), false, stored);
      }
    });
  });

  describe('verifyDummy', () => {
    it('returns false', async () => {
      assert.equal(await hasher.verifyDummy(PASSWORD), false);
    });

    it('recovers after the limiter refused the first attempt to make the dummy hash', async () => {
      const limiter = new WorkLimiter(1, 0);
      const fresh = makeHasher(limiter);
      const busy = occupy(limiter);
      await assert.rejects(fresh.verifyDummy(PASSWORD), OverloadedError);
      busy.release();
      await busy.done;
      assert.equal(await fresh.verifyDummy(PASSWORD), false);
    });
  });

  describe('needsRehash', () => {
    it('is false for a hash at the current parameters', async () => {
      assert.equal(hasher.needsRehash(await hasher.hash(PASSWORD)), false);
    });

    it('is true for argon2id at other parameters', () => {
      const salt = 'c29tZXNhbHRzb21lc2FsdA';
      const digest = 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
      for (const params of ['m=65536,t=3,p=4', 'm=19456,t=3,p=1', 'm=19456,t=2,p=2', 'm=9216,t=2,p=1']) {
        assert.equal(hasher.needsRehash(`$argon2id$v=19$${params}$${salt}$${digest}`), true, params);
      }
    });

    it('is true for bcrypt hashes of every prefix', () => {
      for (const minor of ['a', 'b', 'y'] as const) assert.equal(hasher.needsRehash(bcryptHash(PASSWORD, minor)), true);
    });

    it('is true for an argon2id hash at other parameters made by a differently configured hasher', async () => {
      const other = new Argon2PasswordHasher({ memoryKiB: 12_288, iterations: 3, parallelism: 1 }, new WorkLimiter(1, 4));
      const stored = await other.hash(PASSWORD);
      assert.equal(other.needsRehash(stored), false);
      assert.equal(hasher.needsRehash(stored), true);
      assert.equal(await hasher.verify(stored, PASSWORD), true);
    });
  });
});

describe('hashKind and isSupportedHash', () => {
  it('recognises argon2id and the three bcrypt prefixes', () => {
    assert.equal(hashKind('$argon2id$v=19$m=19456,t=2,p=1$abc$def'), 'argon2id');
    for (const minor of ['a', 'b', 'y'] as const) assert.equal(hashKind(bcryptHash('x', minor)), 'bcrypt');
  });

  it('recognises the legacy formats, and takes the weak ones only with allowWeak', () => {
    for (const { source, hash, weak } of LEGACY_HASHES) {
      assert.notEqual(hashKind(hash), 'unknown', source);
      assert.equal(isSupportedHash(hash), !weak, source);
      assert.equal(isSupportedHash(hash, { allowWeak: true }), true, source);
    }
  });

  it('refuses truncated bcrypt hashes, other prefixes and plain text', () => {
    const bcrypt = bcryptHash('x', 'b');
    for (const stored of [bcrypt.slice(0, -1), bcrypt.replace('$2b$', '$2x$'), bcrypt.replace('$2b$', '$2$'), 'hunter2', '']) {
      assert.equal(isSupportedHash(stored), false, stored);
    }
  });
});
