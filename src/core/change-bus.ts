/**
 * Changes that other processes must hear about at once: a revoked session,
 * a disabled user, a rotated key. Each instance keeps an in-process cache of
 * what bearer authentication reads; the bus tells every other instance what
 * to forget. A transport (PostgreSQL LISTEN/NOTIFY) carries the messages (ADR 0005).
 */
import type { ChangeSource } from './ports.js';

export type Change = { readonly kind: 'user' | 'session' | 'sessions-of-user' | 'client'; readonly id: string } | { readonly kind: 'keys' };

/** What a listener returns, if it does work after returning (a reload), is waited for before the change is confirmed. */
export type ChangeListener = (change: Change) => void | Promise<unknown>;

export interface Confirmation {
  /** The other processes that were listening on the bus. */
  readonly listening: number;
  /** Those of them that answered that they had applied the changes. */
  readonly confirmed: number;
}

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
  /**
   * Resolves once every other process listening on the bus has applied every change this one
   * published before the call (each listener returned, and what it returned settled), or once
   * `timeoutMs` have passed: how many were listening and how many confirmed. At once when this
   * process published nothing since its last call. A command line process calls it before it
   * exits, so that a request sent after it returns is answered with its changes applied.
   */
  confirm(timeoutMs: number): Promise<Confirmation>;
  /** Sends what was published, then stops listening. */
  close(): Promise<void>;
}

const KINDS = new Set(['user', 'session', 'sessions-of-user', 'client']);

/** A message on the bus, with the sender's id: a change, a request to confirm, or a confirmation. */
export type BusMessage =
  | { readonly origin: string; readonly change: Change }
  | { readonly origin: string; readonly confirm: string }
  | { readonly origin: string; readonly confirmed: string };

/** The wire form: compact JSON with the sender's id, so a process can skip its own messages. */
export function encodeChange(origin: string, change: Change): string {
  return JSON.stringify({ o: origin, ...change });
}

/** "Answer `id` once you have applied every change you heard before this." */
export function encodeConfirmRequest(origin: string, id: string): string {
  return JSON.stringify({ o: origin, confirm: id });
}

/** "I have applied every change I heard before request `id`." */
export function encodeConfirmation(origin: string, id: string): string {
  return JSON.stringify({ o: origin, confirmed: id });
}

/** undefined for a message that is none of these (another program on the channel, a newer version's kind). */
export function decodeMessage(payload: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { o, kind, id, confirm, confirmed } = value as Record<string, unknown>;
  if (typeof o !== 'string') return undefined;
  if (typeof confirm === 'string') return { origin: o, confirm };
  if (typeof confirmed === 'string') return { origin: o, confirmed };
  if (kind === 'keys') return { origin: o, change: { kind } };
  if (typeof kind === 'string' && KINDS.has(kind) && typeof id === 'string') return { origin: o, change: { kind: kind as 'user', id } };
  return undefined;
}

/** undefined for a message that is not a change. */
export function decodeChange(payload: string): { readonly origin: string; readonly change: Change } | undefined {
  const message = decodeMessage(payload);
  return message !== undefined && 'change' in message ? message : undefined;
}
