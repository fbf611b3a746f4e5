/** examples/express/server.ts, started as its header says and called over HTTP. */
import { describeExampleApp } from './example-app.js';

describeExampleApp('Express', 'examples/express/server.ts');
