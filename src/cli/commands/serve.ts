import { serve, type ServeOptions } from '../../server/serve.js';

export type { ServeOptions } from '../../server/serve.js';

/** `portcullis serve [--workers N]`: the server's (src/server/serve.ts); resolves with the exit code. */
export function serveCommand(options: ServeOptions = {}): Promise<number> {
  return serve(options);
}
