/**
 * A TCP fault proxy for the fault tests: it forwards 127.0.0.1:<port> to a
 * target (PostgreSQL, Redis) until told to fail.
 *
 * - `cut()` resets every open connection (an RST to the client, as when a
 *   server restarts or a link drops) and resets new ones at once.
 * - `stall()` forwards nothing in either direction, but closes nothing (a
 *   partition, or a server that stopped answering): bytes wait in the proxy.
 *   Stall, send a request, then cut, and the cut lands on a query in flight.
 * - `restore()` forwards again (what a stall held back is delivered first).
 *
 * A cut or a stall can be narrowed to the connections whose first bytes from the
 * client match a predicate: PostgreSQL's startup message carries
 * `application_name`, so `cut((hello) => hello.includes('portcullis-changes'))`
 * cuts the change listener and leaves the pool alone. Nothing here knows any
 * protocol. Made for tests: no backpressure, small volumes.
 */
import { createServer, connect, type Socket } from 'node:net';

/** Which connections a cut applies to: every one, or those whose first client bytes (latin1) match. */
export type CutFilter = (hello: string) => boolean;

export interface TcpProxy {
  readonly port: number;
  /** `url` pointed at the proxy (`postgres://...`, `redis://...`): host 127.0.0.1, the proxy's port. */
  via(url: string): string;
  /** Connections open right now. */
  readonly openConnections: number;
  /** Resets the open connections the filter picks (all by default), and every new one it picks, until restore(). */
  cut(filter?: CutFilter): void;
  /** Holds every byte in both directions of the connections the filter picks (all by default), open and new, until restore(). */
  stall(filter?: CutFilter): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The client's first bytes, once it has sent any. */
  hello: string | undefined;
}

/** A chunk held back by a stall; null is the end of that direction's stream. */
interface Held {
  readonly pair: Pair;
  readonly to: Socket;
  readonly chunk: Buffer | null;
}

const ALL: CutFilter = () => true;

export async function startTcpProxy(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cutFilter: CutFilter | undefined;
  let stallFilter: CutFilter | undefined;
  let held: Held[] = [];
  const stalled = (pair: Pair) =>
    stallFilter !== undefined && (stallFilter === ALL || (pair.hello !== undefined && stallFilter(pair.hello)));

  const reset = (pair: Pair) => {
    pairs.delete(pair);
    // An RST, not a FIN: the client learns at once that the connection is gone.
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    pair.upstream.destroy();
  };

  const deliver = ({ pair, to, chunk }: Held) => {
    if (!pairs.has(pair)) return;
    if (chunk === null) to.end();
    else to.write(chunk);
  };

  const forward = (pair: Pair, from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (from === pair.client && pair.hello === undefined) {
        pair.hello = chunk.toString('latin1');
        if (cutFilter?.(pair.hello)) return reset(pair);
      }
      if (stalled(pair)) held.push({ pair, to, chunk });
      else deliver({ pair, to, chunk });
    });
    from.on('end', () => (stalled(pair) ? held.push({ pair, to, chunk: null }) : deliver({ pair, to, chunk: null })));
  };

  const server = createServer({ noDelay: true }, (client) => {
    client.on('error', () => undefined);
    if (cutFilter === ALL) {
      client.resetAndDestroy();
      return;
    }
    // Writes before the upstream connects are buffered by the socket.
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, hello: undefined };
    pairs.add(pair);
    forward(pair, client, upstream);
    forward(pair, upstream, client);
    const done = () => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.once('close', done);
    upstream.once('close', done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  const port = address.port;

  return {
    port,
    via(url: string): string {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    get openConnections() {
      return pairs.size;
    },
    cut(filter: CutFilter = ALL) {
      cutFilter = filter;
      for (const pair of [...pairs]) {
        // A connection that has sent nothing yet is judged by its first bytes, when they come.
        if (filter === ALL || (pair.hello !== undefined && filter(pair.hello))) reset(pair);
      }
    },
    stall(filter: CutFilter = ALL) {
      stallFilter = filter;
    },
    restore() {
      cutFilter = undefined;
      stallFilter = undefined;
      const release = held;
      held = [];
      for (const item of release) deliver(item);
    },
    close() {
      cutFilter = ALL;
      stallFilter = undefined;
      held = [];
      for (const pair of [...pairs]) reset(pair);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
