/**
 * Structured JSON logs on stdout. Credentials never reach a log call; the redactions are a second
 * line of defence.
 *
 * Request lines (`"msg": "request"`: each failure at LOG_LEVEL=info, every request at debug; see
 * http/request-log.ts) are the only hot log calls, and a synchronous write(2) for each was a large
 * part of a request's CPU. So lines are buffered (pino's asynchronous destination, written in chunks
 * of about 4 KiB) and:
 * - every line that is not a request line is written at once (an asynchronous flush);
 * - an `error` or `fatal` line is written synchronously before the call returns, so a crash right
 *   after it cannot lose it, nor the request lines before it;
 * - buffered request lines are written within a second on an idle server;
 * - at exit, pino writes what is left synchronously (also after an uncaught exception).
 * Only a SIGKILL (or a power cut) can lose the last request lines: at most a buffer's worth.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './settings.js';
import { REQUEST_LOG_MESSAGE } from '../http/request-log.js';

const BUFFER_BYTES = 4096;
const IDLE_FLUSH_MS = 1000;
/** pino's numeric level of `error`. */
const ERROR_LEVEL = 50;

export function createLogger(level: LogLevel): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES });
  const idleFlush = setInterval(() => destination.flush(), IDLE_FLUSH_MS);
  idleFlush.unref();
  return pino(
    {
      level,
      base: { service: 'portcullis' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.new_password',
          '*.current_password',
          '*.client_secret',
          '*.refresh_token',
          '*.access_token',
          '*.secretKey',
        ],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method, lineLevel) {
          method.apply(this, args);
          if (lineLevel >= ERROR_LEVEL) destination.flushSync();
          else if (args[1] !== REQUEST_LOG_MESSAGE) destination.flush();
        },
      },
    },
    destination,
  );
}
