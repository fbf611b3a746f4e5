/**
 * HTTP below fetch: node:http requests whose headers are sent exactly as
 * given (Origin included), and raw sockets that dribble bytes like a slow
 * client and report what came back and when the server hung up.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, baseUrl), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface SocketOutcome {
  /** Everything the server sent. */
  readonly received: string;
  /** From connect to the server closing (or the give-up time). */
  readonly elapsedMs: number;
  /** false when the socket was still open at `giveUpMs`. */
  readonly closedByServer: boolean;
}

export interface DribbleOptions {
  /** Sent at once after connecting (a string as UTF-8). */
  readonly head: string | Buffer;
  /** Then this, one byte every `intervalMs`, repeated while the socket is open. */
  readonly drip: string;
  readonly intervalMs: number;
  readonly giveUpMs: number;
}

/** A slowloris client: how long until the server cuts it off, and what it said. */
export function dribble(baseUrl: string, options: DribbleOptions): Promise<SocketOutcome> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let index = 0;
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks).toString('utf8'), elapsedMs: Date.now() - started, closedByServer });
    };
    const ticker = setInterval(() => {
      if (socket.writable && options.drip.length > 0) {
        socket.write(options.drip[index % options.drip.length] ?? '');
        index += 1;
      }
    }, options.intervalMs);
    const giveUp = setTimeout(() => finish(false), options.giveUpMs);
    socket.on('connect', () => socket.write(options.head));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/** Sends `data` at once and reads until the server closes (or `giveUpMs`). */
export function sendRaw(baseUrl: string, data: string | Buffer, giveUpMs = 5_000): Promise<SocketOutcome> {
  return dribble(baseUrl, { head: data, drip: '', intervalMs: 1_000, giveUpMs });
}
