/**
 * The in-process cache that keeps bearer authentication off the database: users, sessions and clients by id,
 * "does not exist" answers included. Invalidation is exact, not by time: a change through this process forgets
 * what it touches, one by another process moves the storage's change version and empties the cache, and a load
 * that overlaps an invalidation is not cached; the TTL only bounds an entry's life (ADR 0005).
 */
import { LRUCache } from 'lru-cache';
import type { Client } from './clients/client.js';
import type { ChangeSource } from './ports.js';
import type { Session } from './sessions/session.js';
import type { User } from './users/user.js';

/** What services call after they change something authentication depends on. */
export interface Invalidation {
  userChanged(userId: string): void;
  sessionChanged(sessionId: string): void;
  sessionsOfUserChanged(userId: string): void;
  clientChanged(clientId: string): void;
}

export interface Slot<T> {
  readonly value: T | undefined;
}

export interface AuthCacheOptions {
  readonly ttlMs: number;
  /** 0 disables caching. */
  readonly maxEntries: number;
}

export class AuthStateCache implements Invalidation {
  private readonly users: LRUCache<string, Slot<User>> | undefined;
  private readonly sessions: LRUCache<string, Slot<Session>> | undefined;
  private readonly clients: LRUCache<string, Slot<Client>> | undefined;
  private generation = 0;
  private seenVersion: number | undefined;

  constructor(
    private readonly changes: ChangeSource,
    options: AuthCacheOptions,
  ) {
    this.seenVersion = changes.version();
    if (options.maxEntries > 0 && options.ttlMs > 0) {
      const settings = { max: options.maxEntries, ttl: options.ttlMs, ttlAutopurge: false };
      this.users = new LRUCache(settings);
      this.sessions = new LRUCache(settings);
      this.clients = new LRUCache(settings);
    }
  }

  user(id: string, load: () => Promise<User | undefined>): Promise<User | undefined> {
    return this.through(this.users, id, load);
  }

  session(id: string, load: () => Promise<Session | undefined>): Promise<Session | undefined> {
    return this.through(this.sessions, id, load);
  }

  client(id: string, load: () => Promise<Client | undefined>): Promise<Client | undefined> {
    return this.through(this.clients, id, load);
  }

  /**
   * What the cache holds for a user, without loading: `{ value }` (value undefined = known not to
   * exist) or undefined on a miss, or whenever the cache cannot be trusted (then load through user()).
   */
  peekUser(id: string): Slot<User> | undefined {
    return this.peek(this.users, id);
  }

  peekSession(id: string): Slot<Session> | undefined {
    return this.peek(this.sessions, id);
  }

  userChanged(userId: string): void {
    this.generation += 1;
    this.users?.delete(userId);
  }

  sessionChanged(sessionId: string): void {
    this.generation += 1;
    this.sessions?.delete(sessionId);
  }

  sessionsOfUserChanged(userId: string): void {
    this.generation += 1;
    if (!this.sessions) return;
    for (const [id, slot] of this.sessions.entries()) {
      if (slot.value === undefined || slot.value.userId === userId) this.sessions.delete(id);
    }
  }

  clientChanged(clientId: string): void {
    this.generation += 1;
    this.clients?.delete(clientId);
  }

  clear(): void {
    this.generation += 1;
    this.users?.clear();
    this.sessions?.clear();
    this.clients?.clear();
  }

  /** The cache to read, or undefined when nothing cached may be used: the same version check as through(). */
  private current<T>(cache: LRUCache<string, Slot<T>> | undefined): LRUCache<string, Slot<T>> | undefined {
    if (!cache) return undefined;
    const version = this.changes.version();
    // Nothing can tell this process what others changed: every answer comes from the database.
    if (version === undefined) {
      this.seenVersion = undefined;
      return undefined;
    }
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.clear();
    }
    return cache;
  }

  private peek<T>(cache: LRUCache<string, Slot<T>> | undefined, id: string): Slot<T> | undefined {
    return this.current(cache)?.get(id);
  }

  private async through<T>(
    cache: LRUCache<string, Slot<T>> | undefined,
    id: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const usable = this.current(cache);
    if (!usable) return load();
    const hit = usable.get(id);
    if (hit) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation && this.changes.version() === this.seenVersion) usable.set(id, { value });
    return value;
  }
}
