/**
 * A process that logs through the CLI's logger and then ends as argv[2] says, for the logger's
 * tests: `error-then-kill` logs request lines and an error, then SIGKILLs itself; `exit` logs
 * request lines and exits; `throw` logs request lines and throws.
 */
import { pbkdf2 } from 'node:crypto';
import { createLogger } from '../../src/server/logger.js';
import { REQUEST_LOG_MESSAGE } from '../../src/http/request-log.js';

const logger = createLogger('info');
for (let i = 0; i < 5; i += 1) logger.info({ n: i, latencyMs: 1 }, REQUEST_LOG_MESSAGE);
switch (process.argv[2]) {
  case 'error-then-kill':
    // Every thread of libuv's pool busy: an asynchronous write would wait behind them, and die with the process.
    for (let i = 0; i < 4; i += 1) pbkdf2('x', 'y', 5_000_000, 32, 'sha256', () => undefined);
    logger.error({ n: 5 }, 'something failed');
    process.kill(process.pid, 'SIGKILL');
    break;
  case 'exit':
    process.exit(0);
    break;
  case 'throw':
    throw new Error('crash');
  default:
    throw new Error(`unknown mode ${process.argv[2]}`);
}
