/**
 * Invalidation across instances: a change made here is forgotten by this
 * process's cache at once and published on the bus; a change published by
 * another process is applied to this cache the same way (ADR 0005).
 */
import type { AuthStateCache, Invalidation } from './auth-cache.js';
import type { Change, ChangeBus } from './change-bus.js';

export class BroadcastInvalidation implements Invalidation {
  constructor(
    private readonly local: Invalidation,
    private readonly bus: ChangeBus,
  ) {}

  userChanged(userId: string): void {
    this.local.userChanged(userId);
    this.bus.publish({ kind: 'user', id: userId });
  }

  sessionChanged(sessionId: string): void {
    this.local.sessionChanged(sessionId);
    this.bus.publish({ kind: 'session', id: sessionId });
  }

  sessionsOfUserChanged(userId: string): void {
    this.local.sessionsOfUserChanged(userId);
    this.bus.publish({ kind: 'sessions-of-user', id: userId });
  }

  clientChanged(clientId: string): void {
    this.local.clientChanged(clientId);
    this.bus.publish({ kind: 'client', id: clientId });
  }
}

/** A change another process published; keys are the key ring's business. */
export function applyRemoteChange(cache: AuthStateCache, change: Change): void {
  switch (change.kind) {
    case 'user':
      return cache.userChanged(change.id);
    case 'session':
      return cache.sessionChanged(change.id);
    case 'sessions-of-user':
      return cache.sessionsOfUserChanged(change.id);
    case 'client':
      return cache.clientChanged(change.id);
    case 'keys':
      return;
  }
}
