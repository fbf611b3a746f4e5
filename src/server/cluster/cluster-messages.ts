/**
 * What the primary and its workers say to each other over cluster IPC. Every
 * message carries a `channel`, so ours are told apart from anything else on
 * the same pipe, and each side checks a message's shape before trusting it.
 */

/** Store calls: a worker asks the primary's in-memory rate limiter or login-attempt store. */
export const STORE_CHANNEL = 'portcullis:store';
/** Worker lifecycle: ready to serve, or could not start. */
export const LIFECYCLE_CHANNEL = 'portcullis:lifecycle';

export const STORE_OPERATIONS = ['consume', 'inspect', 'recordFailure', 'clearFailures', 'claimOnce'] as const;
export type StoreOperation = (typeof STORE_OPERATIONS)[number];

export interface StoreRequest {
  readonly channel: typeof STORE_CHANNEL;
  /** Matches the reply to its call; unique per worker while the call is pending. */
  readonly id: number;
  readonly op: StoreOperation;
  readonly args: readonly unknown[];
}

export type StoreReply =
  | { readonly channel: typeof STORE_CHANNEL; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly channel: typeof STORE_CHANNEL; readonly id: number; readonly ok: false; readonly error: string };

export type LifecycleMessage =
  | { readonly channel: typeof LIFECYCLE_CHANNEL; readonly event: 'ready'; readonly url: string }
  | { readonly channel: typeof LIFECYCLE_CHANNEL; readonly event: 'failed'; readonly error: string };

/**
 * One end of an IPC pipe. `send` settles once the message is handed to the
 * pipe (or rejects when the pipe is gone); `onMessage` returns its unsubscribe.
 */
export interface IpcTransport {
  send(message: unknown): Promise<void>;
  onMessage(listener: (message: unknown) => void): () => void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isStoreRequest(message: unknown): message is StoreRequest {
  return (
    isRecord(message) &&
    message.channel === STORE_CHANNEL &&
    Number.isSafeInteger(message.id) &&
    (STORE_OPERATIONS as readonly unknown[]).includes(message.op) &&
    Array.isArray(message.args)
  );
}

export function isStoreReply(message: unknown): message is StoreReply {
  return (
    isRecord(message) &&
    message.channel === STORE_CHANNEL &&
    Number.isSafeInteger(message.id) &&
    (message.ok === true || (message.ok === false && typeof message.error === 'string'))
  );
}

export function isLifecycleMessage(message: unknown): message is LifecycleMessage {
  if (!isRecord(message) || message.channel !== LIFECYCLE_CHANNEL) return false;
  return (
    (message.event === 'ready' && typeof message.url === 'string') || (message.event === 'failed' && typeof message.error === 'string')
  );
}
