/**
 * The Node.js flags a cluster worker starts with: the primary's own, plus a
 * smaller V8 young generation unless the operator chose one.
 *
 * V8's default semi-space (16 MiB, so a 32 MiB young generation once a busy
 * process has grown it) is memory that a worker answering small JSON
 * requests does not need: capped at 2 MiB, a server's peak RSS under the
 * benchmark's load (GET /users/me, then logins) was about 20 MiB lower
 * (180 → 158 MiB), and its CPU time per request was no higher (measured
 * with one process and NODE_OPTIONS=--max-semi-space-size=2; see the
 * performance notes). A flag like this must be in effect when the process
 * starts, so it can be given to the workers, which the primary starts, but
 * not to a process already running: for WORKERS=1 set it in NODE_OPTIONS.
 */
export const WORKER_SEMI_SPACE_MIB = 2;

const SEMI_SPACE_FLAG = /--max-semi-space-size(?:=|\s|$)|--max_semi_space_size(?:=|\s|$)/;

/** `execArgv` for cluster.setupPrimary(): `execArgv` plus the young-generation cap, unless one is set already. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const chosen = execArgv.some((flag) => SEMI_SPACE_FLAG.test(flag)) || SEMI_SPACE_FLAG.test(nodeOptions ?? '');
  return chosen ? [...execArgv] : [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`];
}
