/**
 * Changes that other processes must hear about at once: a revoked session,
 * a disabled user, a rotated key. Each instance keeps an in-process cache of
 * what bearer authentication reads; the bus tells every other instance what
 * to forget. A transport (PostgreSQL LISTEN/NOTIFY) carries the messages.
 */
import type { ChangeSource } from './ports.js';

export type Change =
  | { readonly kind: 'user' | 'session' | 'sessions-of-user' | 'client'; readonly id: string }
  | { readonly kind: 'keys' };

export type ChangeListener = (change: Change) => void;

/**
 * `version()` (from ChangeSource) is undefined while the bus cannot hear
 * (not yet connected, or disconnected: messages may be missed), and moves
 * each time it starts hearing again, so a cache forgets everything it held
 * from before.
 */
export interface ChangeBus extends ChangeSource {
  /** After the change is committed. Fire and forget: a failure is the transport's to report. */
  publish(change: Change): void;
  /** Changes published by other processes (not this one's own). */
  subscribe(listener: ChangeListener): void;
  /** Sends what was published, then stops listening. */
  close(): Promise<void>;
}

const KINDS = new Set(['user', 'session', 'sessions-of-user', 'client']);

/** The wire form: compact JSON with the sender's id, so a process can skip its own messages. */
export function encodeChange(origin: string, change: Change): string {
  return JSON.stringify({ o: origin, ...change });
}

/** undefined for a message that is not a change (another program on the channel, a newer version's kind). */
export function decodeChange(payload: string): { readonly origin: string; readonly change: Change } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { o, kind, id } = value as Record<string, unknown>;
  if (typeof o !== 'string' || typeof kind !== 'string') return undefined;
  if (kind === 'keys') return { origin: o, change: { kind } };
  if (KINDS.has(kind) && typeof id === 'string') return { origin: o, change: { kind: kind as 'user', id } };
  return undefined;
}
