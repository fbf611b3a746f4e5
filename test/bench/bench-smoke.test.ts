/** Smoke check that `npm run bench` still runs end to end (its storm phase runs `npm run bench:storm -- --short`); numbers are never asserted. */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { resultLine, runScript } from '../helpers/script.js';

const KEYS = [
  'date',
  'short',
  'cores',
  'settings',
  'hash',
  'coldStart',
  'me',
  'login',
  'refresh',
  'signUp',
  'backends',
  'storm',
  'algorithms',
  'peakRssMiB',
  'memory',
  'targets',
  'seconds',
  'file',
];

describe('npm run bench -- --short', () => {
  it('runs to the end, prints a RESULT line with every measure and writes its JSON outside bench/results', async () => {
    const { code, stdout, stderr } = await runScript('bench/run.ts', ['--short'], 240_000);
    assert.equal(code, 0, stderr);
    const result = resultLine(stdout) as Record<string, unknown> | undefined;
    assert.ok(result, 'a RESULT line');
    try {
      for (const key of KEYS) assert.ok(key in result, `RESULT has ${key}`);
      assert.equal(result.short, true);
      const file = String(result.file);
      assert.ok(file.startsWith(tmpdir()), `short results go to a temp folder, not bench/results (${file})`);
      assert.ok(existsSync(file));
      const me = result.me as Record<string, unknown>;
      for (const key of ['baseline', 'portcullis', 'ratio']) assert.ok(key in me, `me.${key}`);
      for (const key of ['perSecond', 'p50Ms', 'p99Ms', 'statuses']) {
        assert.ok(key in (me.baseline as object) && key in (me.portcullis as object), `me.*.${key}`);
      }
      for (const key of [
        'perSecond',
        'p99Ms',
        'ratioToHashCapacity',
        'ratioToParallelHashing',
        'eventLoopCpuMsPerLogin',
        'eventLoopCpuMsPerLoginSaturated',
      ]) {
        assert.ok(key in (result.login as object), `login.${key}`);
      }
      const targets = result.targets as { measure: string; met: boolean | null }[];
      for (const measure of [
        'logins vs the cores hashing at once',
        'event-loop CPU per login (ms, steady rate)',
        'RSS under /users/me load vs bare Fastify (hashing memory counted separately)',
        'peak RSS over the run (MiB)',
      ]) {
        assert.ok(
          targets.some((target) => target.measure === measure),
          `target: ${measure}`,
        );
      }
      for (const key of ['usersMeMiB', 'fastifyMiB', 'ratio', 'hashingMiB', 'hashingMeasuredMiB'])
        assert.ok(key in (result.memory as object), `memory.${key}`);
      for (const key of ['medianMs', 'capacityPerSecond', 'parallelPerSecond']) assert.ok(key in (result.hash as object), `hash.${key}`);
      if (process.platform === 'linux') {
        const phases = result.peakRssByPhaseMiB as Record<string, number> | null;
        assert.ok(phases, 'each phase its own peak RSS (Linux: /proc/<pid>/clear_refs)');
        for (const phase of ['start', 'setUp', 'usersMe', 'logins', 'writePaths', 'sinceStart'])
          assert.ok((phases[phase] ?? 0) > 0, `peak RSS of ${phase}`);
        assert.equal(phases.sinceStart, result.peakRssMiB);
        const memory = result.memory as Record<string, number | null>;
        assert.ok((memory.fastifyMiB ?? 0) > 0 && (memory.ratio ?? 0) > 0, 'RSS against bare Fastify');
        assert.ok(
          ((result.login as Record<string, number | null>).eventLoopCpuMsPerLogin ?? 0) > 0,
          'event-loop CPU per login (bench/login-cpu.ts)',
        );
      }
      assert.ok('perSecond' in (result.refresh as object) && 'perSecond' in (result.signUp as object));
      const backends = result.backends as { backend: string; refresh: object; signUp: object }[];
      assert.ok(
        backends.some((b) => b.backend.includes('SQLITE_SYNCHRONOUS=normal')),
        'the relaxed SQLite write paths',
      );
      if (process.env.CI === 'true')
        assert.ok(
          backends.some((b) => b.backend.startsWith('postgres')),
          'PostgreSQL write paths (required under CI=true)',
        );
      for (const b of backends) assert.ok('perSecond' in b.refresh && 'perSecond' in b.signUp, b.backend);
      assert.ok(result.storm !== null && 'ratio' in (result.storm as object), 'the login-storm phase');
      const algorithms = result.algorithms as { algorithm: string; verifiesPerSecond: number }[];
      assert.deepEqual(
        algorithms.map((row) => row.algorithm),
        ['HS256', 'EdDSA', 'ES256', 'RS256', 'PS256'],
      );
      assert.ok('medianMs' in (result.coldStart as object));
    } finally {
      rmSync(dirname(String(result.file)), { recursive: true, force: true });
    }
  });
});
