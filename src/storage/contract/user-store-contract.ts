/**
 * The behaviour every UserStore must have, as a node:test suite. Exported so
 * a custom store can be checked too:
 *
 *   userStoreContract('MyStore', async () => ({ store: new MyStore(), close: async () => {} }));
 *
 * `open` is called once for the suite and must give an empty store; each test
 * works under usernames of its own, so the tests share it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmailTakenError, UsernameTakenError } from '../../core/errors.js';
import type { NewUser, UserStore } from '../../core/ports.js';
import { CONTRACT_T0 as T0, type StoreContractOptions, type StoreHarness } from './store-harness.js';

/** A user as core hands it over: `usernameKey` is already case-folded (the store never folds). */
function newUser(key: string, more: Partial<NewUser> = {}): NewUser {
  return {
    username: key,
    usernameKey: key,
    email: null,
    fullName: null,
    passwordHash: `hash-of-${key}`,
    disabled: false,
    scopes: [],
    ...more,
  };
}

const isTaken = (error: unknown) => error instanceof UsernameTakenError && error.code === 'ERR_USERNAME_TAKEN';

export function userStoreContract(name: string, open: () => Promise<StoreHarness<UserStore>>, options: StoreContractOptions = {}): void {
  describe(`UserStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: StoreHarness<UserStore>;
    let store: UserStore;
    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('answers undefined or false for a user that does not exist', async () => {
      assert.equal(await store.findByKey('missing'), undefined);
      assert.equal(await store.findById('00000000-0000-4000-8000-000000000000'), undefined);
      assert.equal(await store.setDisabled('missing', true, T0), false);
      assert.equal(await store.remove('missing'), false);
      assert.equal(await store.setPasswordHash('missing', 'h', T0), false);
      assert.equal(await store.changePassword('missing', 'h', T0), undefined);
      assert.equal(await store.update('missing', { email: 'x@example.com' }, T0), undefined);
    });

    it('creates a user with an id, the given time and token version 0, and finds it by key and by id', async () => {
      const created = await store.create(
        newUser('create-1', {
          username: 'Create-1',
          email: 'c@example.com',
          fullName: 'C One',
          scopes: ['me', 'items:read'],
          passwordHash: '$argon2id$x',
        }),
        T0,
      );
      assert.equal(typeof created.id, 'string');
      assert.ok(created.id.length > 0);
      assert.deepEqual(created, {
        id: created.id,
        username: 'Create-1',
        usernameKey: 'create-1',
        email: 'c@example.com',
        emailVerified: false,
        fullName: 'C One',
        passwordHash: '$argon2id$x',
        disabled: false,
        scopes: ['me', 'items:read'],
        createdAt: T0,
        updatedAt: T0,
        tokenVersion: 0,
        mfaRequired: false,
      });
      assert.deepEqual(await store.findByKey('create-1'), created);
      assert.deepEqual(await store.findById(created.id), created);
      const other = await store.create(newUser('create-2', { disabled: true }), T0 + 1);
      assert.notEqual(other.id, created.id);
      assert.equal((await store.findByKey('create-2'))?.disabled, true);
    });

    it("looks keys up exactly: case folding is the caller's, the key is what is unique", async () => {
      await store.create(newUser('fold-alice', { username: 'Fold-Alice' }), T0);
      assert.equal(await store.findByKey('Fold-Alice'), undefined, 'the username is not a key');
      await assert.rejects(store.create(newUser('fold-alice', { username: 'FOLD-ALICE' }), T0), isTaken);
      assert.equal((await store.findByKey('fold-alice'))?.username, 'Fold-Alice', 'the first stays');
    });

    it('lets exactly one of two concurrent creates of a key win', async () => {
      const results = await Promise.allSettled([store.create(newUser('race-1'), T0), store.create(newUser('race-1'), T0)]);
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      const [lost] = results.filter((result) => result.status === 'rejected');
      assert.ok(isTaken(lost!.reason), String(lost!.reason));
    });

    it('creates many users all or nothing', async () => {
      await store.createMany([], T0);
      await store.createMany([newUser('many-a'), newUser('many-b')], T0);
      assert.equal((await store.findByKey('many-b'))?.createdAt, T0);
      await assert.rejects(store.createMany([newUser('many-c'), newUser('many-a'), newUser('many-d')], T0), isTaken);
      await assert.rejects(store.createMany([newUser('many-e'), newUser('many-e')], T0), isTaken);
      assert.deepEqual([...(await store.existingKeys(['many-c', 'many-d', 'many-e']))], [], 'nothing of a refused batch is stored');
    });

    it('imports new users and replaces existing ones in one transaction, keeping their scopes', async () => {
      await store.create(newUser('imp-old', { scopes: ['items'], email: 'old@example.com' }), T0);
      const before = await store.findByKey('imp-old');
      const ids = await store.importMany(
        {
          create: [newUser('imp-new')],
          replace: [
            newUser('imp-old', {
              passwordHash: 'new-hash',
              email: 'new@example.com',
              emailVerified: true,
              fullName: 'Old Timer',
              disabled: true,
            }),
          ],
        },
        T0 + 1000,
      );
      assert.deepEqual(ids, [before!.id]);
      assert.ok(await store.findByKey('imp-new'));
      const after = await store.findByKey('imp-old');
      assert.equal(after?.passwordHash, 'new-hash');
      assert.equal(after?.email, 'new@example.com');
      assert.equal(after?.emailVerified, true);
      assert.equal(after?.fullName, 'Old Timer');
      assert.equal(after?.disabled, true);
      assert.deepEqual(after?.scopes, ['items']);
      assert.equal(after?.tokenVersion, before!.tokenVersion + 1, 'a new hash ends earlier access tokens');
      await store.importMany({ create: [], replace: [newUser('imp-old', { passwordHash: 'new-hash' })] }, T0 + 2000);
      assert.equal((await store.findByKey('imp-old'))?.tokenVersion, before!.tokenVersion + 1, 'the same hash keeps them');

      const taken = store.importMany(
        { create: [newUser('imp-x'), newUser('imp-new')], replace: [newUser('imp-old', { passwordHash: 'other' })] },
        T0,
      );
      await assert.rejects(taken, isTaken);
      assert.equal(await store.findByKey('imp-x'), undefined, 'nothing of a refused import is stored');
      assert.equal((await store.findByKey('imp-old'))?.passwordHash, 'new-hash');
    });

    it('creates and checks hundreds of users at once', async () => {
      const keys = Array.from({ length: 450 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
      await store.createMany(
        keys.map((key) => newUser(key)),
        T0,
      );
      const asked = [...keys.filter((_, i) => i % 2 === 0), ...Array.from({ length: 400 }, (_, i) => `bulk-none-${i}`)];
      const found = await store.existingKeys(asked);
      assert.deepEqual(
        [...found].sort(),
        keys.filter((_, i) => i % 2 === 0),
      );
      assert.equal((await store.list({ prefix: 'bulk-', limit: 1000 })).users.length, 450);
    });

    it('lists by key in code point order, in pages, by prefix and by disabled state', async () => {
      // U+E000 sorts before U+1F600 by code point, after it by UTF-16 code unit.
      const keys = ['list-b', 'list-a', 'list-\u{1F600}', 'list-\uE000', 'list-c', 'listx'];
      for (const key of keys) await store.create(newUser(key, { disabled: key === 'list-c' || key === 'list-a' }), T0);
      const all = await store.list({ prefix: 'list-', limit: 10 });
      assert.deepEqual(
        all.users.map((user) => user.usernameKey),
        ['list-a', 'list-b', 'list-c', 'list-\uE000', 'list-\u{1F600}'],
      );
      assert.equal(all.next, undefined);

      const first = await store.list({ prefix: 'list-', limit: 2 });
      assert.deepEqual(
        first.users.map((user) => user.usernameKey),
        ['list-a', 'list-b'],
      );
      assert.equal(first.next, 'list-b');
      const second = await store.list({ prefix: 'list-', limit: 2, after: first.next });
      assert.deepEqual(
        second.users.map((user) => user.usernameKey),
        ['list-c', 'list-\uE000'],
      );
      const third = await store.list({ prefix: 'list-', limit: 2, after: second.next });
      assert.deepEqual(
        third.users.map((user) => user.usernameKey),
        ['list-\u{1F600}'],
      );
      assert.equal(third.next, undefined);

      const exact = await store.list({ prefix: 'list-', limit: 5 });
      assert.equal(exact.users.length, 5);
      assert.equal(exact.next, undefined, 'a page that ends exactly at the last user says there is no next');

      const disabled = await store.list({ prefix: 'list', limit: 10, disabled: true });
      assert.deepEqual(
        disabled.users.map((user) => user.usernameKey),
        ['list-a', 'list-c'],
      );
      const enabled = await store.list({ prefix: 'list', limit: 10, disabled: false });
      assert.deepEqual(
        enabled.users.map((user) => user.usernameKey),
        ['list-b', 'list-\uE000', 'list-\u{1F600}', 'listx'],
      );
      assert.deepEqual((await store.list({ prefix: 'list-%', limit: 10 })).users, [], 'a prefix is not a pattern');
    });

    it('enables and disables a user', async () => {
      await store.create(newUser('disable-1'), T0);
      assert.equal(await store.setDisabled('disable-1', true, T0 + 5), true);
      const disabled = await store.findByKey('disable-1');
      assert.equal(disabled?.disabled, true);
      assert.equal(disabled?.updatedAt, T0 + 5);
      assert.equal(await store.setDisabled('disable-1', false, T0 + 6), true);
      assert.equal((await store.findByKey('disable-1'))?.disabled, false);
    });

    it('replaces a hash, only if it is still the expected one when one is given', async () => {
      await store.create(newUser('hash-1', { passwordHash: 'old' }), T0);
      assert.equal(await store.setPasswordHash('hash-1', 'rehashed', T0 + 1, 'not-the-stored-one'), false);
      assert.equal((await store.findByKey('hash-1'))?.passwordHash, 'old');
      assert.equal(await store.setPasswordHash('hash-1', 'rehashed', T0 + 2, 'old'), true);
      const rehashed = await store.findByKey('hash-1');
      assert.equal(rehashed?.passwordHash, 'rehashed');
      assert.equal(rehashed?.updatedAt, T0 + 2);
      assert.equal(rehashed?.tokenVersion, 0, 'a rehash is not a new password');
      assert.equal(await store.setPasswordHash('hash-1', 'set', T0 + 3), true);
      assert.equal((await store.findByKey('hash-1'))?.passwordHash, 'set');
    });

    it('bumps the token version at every password change', async () => {
      await store.create(newUser('change-1'), T0);
      const once = await store.changePassword('change-1', 'new-1', T0 + 1);
      assert.equal(once?.tokenVersion, 1);
      assert.equal(once?.passwordHash, 'new-1');
      assert.equal(once?.updatedAt, T0 + 1);
      assert.equal((await store.changePassword('change-1', 'new-2', T0 + 2))?.tokenVersion, 2);
      assert.equal((await store.findByKey('change-1'))?.tokenVersion, 2);
    });

    it('updates only the fields in the patch, null clearing one', async () => {
      const created = await store.create(newUser('update-1', { email: 'u@example.com', fullName: 'U', scopes: ['me'] }), T0);
      const emailOnly = await store.update('update-1', { email: null }, T0 + 1);
      assert.deepEqual(emailOnly, { ...created, email: null, updatedAt: T0 + 1 });
      const rest = await store.update('update-1', { fullName: 'U Two', scopes: ['me', 'admin'], disabled: true }, T0 + 2);
      assert.deepEqual(rest, { ...created, email: null, fullName: 'U Two', scopes: ['me', 'admin'], disabled: true, updatedAt: T0 + 2 });
      assert.deepEqual((await store.update('update-1', { scopes: [] }, T0 + 3))?.scopes, []);
      assert.deepEqual(await store.findByKey('update-1'), { ...rest, scopes: [], updatedAt: T0 + 3 });
    });

    it('e-mail: found case-insensitively; a new address is unverified; a verified address is unique among verified ones', async () => {
      const a = await store.create(newUser('mail-a', { email: 'Same@Example.com' }), T0);
      assert.equal(a.emailVerified, false, 'new users are unverified unless said otherwise');
      await store.create(newUser('mail-b', { email: 'same@example.COM' }), T0);
      assert.deepEqual(
        (await store.findByEmail('SAME@example.com', 5)).map((user) => user.usernameKey),
        ['mail-a', 'mail-b'],
        'both, unverified, in key order',
      );
      assert.equal(await store.findByVerifiedEmail('same@example.com'), undefined);

      const verified = await store.update('mail-a', { emailVerified: true }, T0 + 1);
      assert.equal(verified?.emailVerified, true);
      assert.equal((await store.findByVerifiedEmail('same@example.com'))?.usernameKey, 'mail-a');
      await assert.rejects(store.update('mail-b', { emailVerified: true }, T0 + 2), (error) => error instanceof EmailTakenError);
      assert.equal((await store.findByKey('mail-b'))?.emailVerified, false, 'the refused update changed nothing');
      await assert.rejects(
        store.create(newUser('mail-c', { email: 'SAME@example.com', emailVerified: true }), T0),
        (error) => error instanceof EmailTakenError,
      );

      const moved = await store.update('mail-a', { email: 'new@example.com' }, T0 + 3);
      assert.equal(moved?.emailVerified, false, 'a changed address is unverified');
      assert.equal((await store.update('mail-b', { emailVerified: true }, T0 + 4))?.emailVerified, true, 'the address is free again');
      const confirmed = await store.update('mail-a', { email: 'new@example.com', emailVerified: true }, T0 + 5);
      assert.equal(confirmed?.emailVerified, true, 'an address set and verified in one patch');

      await store.create(newUser('mail-none'), T0);
      assert.equal(
        (await store.update('mail-none', { emailVerified: true }, T0 + 1))?.emailVerified,
        false,
        'no address is never verified',
      );
      assert.equal((await store.update('mail-a', { email: null, emailVerified: true }, T0 + 6))?.emailVerified, false);
    });

    it('onlyIfEmail: the patch applies only while the address is that one, compared as addresses compare', async () => {
      const created = await store.create(newUser('only-if', { email: 'Only@Example.com' }), T0);
      const skipped = await store.update('only-if', { emailVerified: true, onlyIfEmail: 'other@example.com' }, T0 + 1);
      assert.deepEqual(skipped, created, 'another address: nothing changed');
      const applied = await store.update('only-if', { emailVerified: true, onlyIfEmail: 'ONLY@example.com' }, T0 + 2);
      assert.equal(applied?.emailVerified, true);
      assert.equal(applied?.email, 'Only@Example.com');
      await store.create(newUser('only-if-none'), T0);
      assert.equal(
        (await store.update('only-if-none', { emailVerified: true, onlyIfEmail: 'x@example.com' }, T0 + 1))?.emailVerified,
        false,
      );
    });

    it('keeps mfaRequired: false unless said, set at creation, and changed by a patch of it alone', async () => {
      assert.equal((await store.create(newUser('mfa-default'), T0)).mfaRequired, false);
      assert.equal((await store.create(newUser('mfa-on', { mfaRequired: true }), T0)).mfaRequired, true);
      const cleared = await store.update('mfa-on', { mfaRequired: false }, T0 + 1);
      assert.equal(cleared?.mfaRequired, false);
      const set = await store.update('mfa-default', { mfaRequired: true }, T0 + 2);
      assert.equal(set?.mfaRequired, true);
      assert.equal((await store.update('mfa-default', { fullName: 'X' }, T0 + 3))?.mfaRequired, true, 'another patch leaves it');
    });

    it('removes a user, after which its key is free again', async () => {
      const first = await store.create(newUser('remove-1'), T0);
      assert.equal(await store.remove('remove-1'), true);
      assert.equal(await store.findByKey('remove-1'), undefined);
      assert.equal(await store.findById(first.id), undefined);
      assert.equal(await store.remove('remove-1'), false);
      const again = await store.create(newUser('remove-1'), T0 + 1);
      assert.notEqual(again.id, first.id);
    });
  });
}
