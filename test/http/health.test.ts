/** GET /healthz (process up) and GET /readyz (storage reachable). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestServer } from '../helpers/server.js';

describe('health endpoints', () => {
  it('answers /healthz and /readyz with 200 while storage is up', async () => {
    const server = await startTestServer();
    try {
      const health = await server.fetch('/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const ready = await server.fetch('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready' });
    } finally {
      await server.stop();
    }
  });

  it('answers /readyz with 503 once storage is gone, and /healthz still with 200', async () => {
    const server = await startTestServer();
    try {
      await server.storage.close();
      const ready = await server.fetch('/readyz');
      assert.equal(ready.status, 503);
      assert.equal(ready.headers.get('retry-after'), '1');
      assert.deepEqual(await ready.json(), { detail: 'Service temporarily unavailable' });
      assert.equal((await server.fetch('/healthz')).status, 200);
    } finally {
      await server.app.close();
    }
  });
});
