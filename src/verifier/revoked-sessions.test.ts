import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevokedSessions } from './revoked-sessions.js';

describe('RevokedSessions', () => {
  it('refuses every token of a revoked session, whatever its version, and nothing else', () => {
    const set = new RevokedSessions();
    set.addSession('s1', 1000);
    assert.equal(set.isRevoked('s1', 0), true);
    assert.equal(set.isRevoked('s1', 7), true);
    assert.equal(set.isRevoked('s1', undefined), true);
    assert.equal(set.isRevoked('s2', 0), false);
    assert.equal(set.size, 1);
  });

  it('refuses tokens of a kept session below its minimum version, and those without a version', () => {
    const set = new RevokedSessions();
    set.addVersion('s1', 3, 1000);
    assert.equal(set.isRevoked('s1', 2), true);
    assert.equal(set.isRevoked('s1', 3), false);
    assert.equal(set.isRevoked('s1', 4), false);
    assert.equal(set.isRevoked('s1', undefined), true);
    // A later change raises the bar; an older entry arriving again never lowers it.
    set.addVersion('s1', 5, 2000);
    set.addVersion('s1', 4, 2000);
    assert.equal(set.isRevoked('s1', 4), true);
    assert.equal(set.isRevoked('s1', 5), false);
    set.addSession('s1', 2000);
    assert.equal(set.isRevoked('s1', 9), true, 'revoked outright later');
  });

  it('forgets entries once their time has come, and only those', () => {
    const set = new RevokedSessions();
    set.addSession('a', 100);
    set.addSession('b', 200);
    set.addVersion('c', 1, 150);
    set.addVersion('d', 1, 300);
    set.prune(99);
    assert.equal(set.size, 4);
    set.prune(150);
    assert.equal(set.isRevoked('a', 0), false);
    assert.equal(set.isRevoked('b', 0), true);
    assert.equal(set.isRevoked('c', 0), false);
    assert.equal(set.isRevoked('d', 0), true);
    assert.equal(set.size, 2);
    set.prune(300);
    assert.equal(set.size, 0);
  });

  it('keeps an entry added again until its new time, in the new place', () => {
    const set = new RevokedSessions();
    set.addSession('a', 100);
    set.addSession('b', 200);
    set.addSession('a', 300);
    set.prune(250);
    assert.equal(set.isRevoked('a', 0), true, 'a was heard again: kept until 300');
    assert.equal(set.isRevoked('b', 0), false);
    assert.equal(set.size, 1);
  });
});
