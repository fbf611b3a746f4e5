/**
 * The Node.js flags a cluster worker starts with: the primary's own, plus a smaller V8 young
 * generation (`--max-semi-space-size=2`) unless the operator chose one; a flag like this only takes
 * effect at a process's start, so for WORKERS=1 set it in NODE_OPTIONS (ADR 0013; measured in
 * docs/PERFORMANCE.md).
 */
export const WORKER_SEMI_SPACE_MIB = 2;

const SEMI_SPACE_FLAG = /--max-semi-space-size(?:=|\s|$)|--max_semi_space_size(?:=|\s|$)/;

/** `execArgv` for cluster.setupPrimary(): `execArgv` plus the young-generation cap, unless one is set already. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const chosen = execArgv.some((flag) => SEMI_SPACE_FLAG.test(flag)) || SEMI_SPACE_FLAG.test(nodeOptions ?? '');
  return chosen ? [...execArgv] : [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MIB}`];
}
