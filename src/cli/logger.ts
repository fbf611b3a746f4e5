import { pino, type Logger } from 'pino';
import type { LogLevel } from '../core/config.js';

/** Structured JSON logs. Credentials never reach a log call; the redactions are a second line of defence. */
export function createLogger(level: LogLevel): Logger {
  return pino({
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
  });
}
