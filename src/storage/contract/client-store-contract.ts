/**
 * The behaviour every ClientStore must have, as a node:test suite. Exported
 * so a custom store can be checked too:
 *
 *   clientStoreContract('MyStore', async () => ({ store: new MyStore() }));
 *
 * `open` is called once for the suite and must give an empty store; each
 * test uses names of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '../../core/clients/client.js';
import { ClientNameTakenError } from '../../core/errors.js';
import type { ClientStore } from '../../core/ports.js';
import { CONTRACT_T0 as T0, type StoreContractOptions, type StoreHarness } from './store-harness.js';

function clientNamed(name: string, more: Partial<Client> = {}): Client {
  return {
    id: randomUUID(),
    name,
    type: 'confidential',
    secretHash: 'ab'.repeat(32),
    scopes: ['items:read'],
    createdAt: T0,
    redirectUris: [],
    grantTypes: ['client_credentials'],
    firstParty: false,
    postLogoutRedirectUris: [],
    backchannelLogoutUri: null,
    ...more,
  } as Client;
}

function webApp(name: string): Client {
  return clientNamed(name, {
    type: 'public',
    secretHash: null,
    redirectUris: ['https://app.example/cb', 'http://127.0.0.1:8080/cb?x=1'],
    grantTypes: ['authorization_code', 'refresh_token'],
    firstParty: true,
    postLogoutRedirectUris: ['https://app.example/'],
  } as Partial<Client>);
}

const isTaken = (error: unknown) => error instanceof ClientNameTakenError && error.code === 'ERR_CLIENT_NAME_TAKEN';

export function clientStoreContract(
  name: string,
  open: () => Promise<StoreHarness<ClientStore>>,
  options: StoreContractOptions = {},
): void {
  describe(`ClientStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: StoreHarness<ClientStore>;
    let store: ClientStore;
    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.close?.();
    });

    it('answers undefined or false for a client that does not exist', async () => {
      assert.equal(await store.findById('missing'), undefined);
      assert.equal(await store.findByName('missing'), undefined);
      assert.equal(await store.remove('missing'), false);
    });

    it('creates a client and finds it by id and by exact name', async () => {
      const client = clientNamed('find-svc', { scopes: ['a', 'b:c'], createdAt: T0 + 7 });
      await store.create(client);
      assert.deepEqual(await store.findById(client.id), client);
      assert.deepEqual(await store.findByName('find-svc'), client);
      assert.equal(await store.findByName('find-sv'), undefined);
      const none = clientNamed('find-none', { scopes: [] });
      await store.create(none);
      assert.deepEqual((await store.findById(none.id))?.scopes, []);
    });

    it('refuses a name that is taken, keeping the first client', async () => {
      const first = clientNamed('taken-svc');
      await store.create(first);
      await assert.rejects(store.create(clientNamed('taken-svc')), isTaken);
      assert.equal((await store.findByName('taken-svc'))?.id, first.id);
    });

    it('lets exactly one of two concurrent creates of a name win', async () => {
      const results = await Promise.allSettled([store.create(clientNamed('race-svc')), store.create(clientNamed('race-svc'))]);
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      const [lost] = results.filter((result) => result.status === 'rejected');
      assert.ok(isTaken(lost!.reason), String(lost!.reason));
    });

    it('lists clients by name in code point order', async () => {
      for (const suffix of ['b', '\u{1F600}', 'a', '\uE000', 'B']) await store.create(clientNamed(`list-${suffix}`));
      const names = (await store.list()).map((client) => client.name).filter((listed) => listed.startsWith('list-'));
      assert.deepEqual(names, ['list-B', 'list-a', 'list-b', 'list-\uE000', 'list-\u{1F600}']);
    });

    it('keeps a public client of the code flow with its URIs, grants and first-party flag', async () => {
      const client = webApp('public-app');
      await store.create(client);
      assert.deepEqual(await store.findById(client.id), client);
      assert.deepEqual(await store.findByName('public-app'), client);
    });

    it('updates every field but id, name and creation time; false for a client that does not exist', async () => {
      const client = clientNamed('update-svc');
      await store.create(client);
      const changed = {
        ...client,
        name: 'renamed-svc',
        createdAt: T0 + 99,
        scopes: ['x'],
        redirectUris: ['https://svc.example/cb'],
        grantTypes: ['client_credentials', 'authorization_code', 'refresh_token'],
        firstParty: true,
        postLogoutRedirectUris: ['https://svc.example/bye'],
      } as Client;
      assert.equal(await store.update(changed), true);
      assert.deepEqual(await store.findById(client.id), { ...changed, name: 'update-svc', createdAt: client.createdAt });
      assert.equal(await store.update(clientNamed('never-created')), false);
    });

    it('removes a client, after which its name is free again', async () => {
      const client = clientNamed('remove-svc');
      await store.create(client);
      assert.equal(await store.remove(client.id), true);
      assert.equal(await store.findById(client.id), undefined);
      assert.equal(await store.findByName('remove-svc'), undefined);
      assert.equal(await store.remove(client.id), false);
      await store.create(clientNamed('remove-svc'));
    });
  });
}
