/** examples/hono/server.ts, started as its header says and called over HTTP. */
import { describeExampleApp } from './example-app.js';

describeExampleApp('Hono', 'examples/hono/server.ts');
