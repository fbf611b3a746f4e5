/**
 * Structured JSON logs on stdout; credentials never reach a log call, and the redactions are a second line of
 * defence. Lines are buffered (pino's asynchronous destination, ~4 KiB writes): request lines within a second
 * on an idle server, every other line at once, `error` and `fatal` lines synchronously, what is left at exit;
 * only a SIGKILL (or a power cut) can lose the last request lines (ADR 0019).
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
