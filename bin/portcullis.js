#!/usr/bin/env node
// The `portcullis` command: runs the command line that `npm run build` (tsc) compiled into dist/.
// Where Node has it (22.1 and later), its module compile cache is turned on first, so that a second
// start reuses the V8 code it compiled the first time; on Node 20 this line does nothing.
import module from 'node:module';

module.enableCompileCache?.();

let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js')) throw error;
  console.error('portcullis: dist/cli/main.js is missing; run npm run build');
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
