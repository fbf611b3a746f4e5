/**
 * The answer floor of the routes that answer alike whether or not an account exists (issue 14:
 * /password/forgot, and the other mail requests): no answer to an accepted request leaves before
 * ANSWER_FLOOR_MS from its arrival. Whatever the request's own work costs before the answer (a
 * known account's or an unknown one's), both answers leave when this floor's timer fires, on an
 * event loop that has finished the work deferred after the answer (core's DeferredWork). Measured
 * without it on SQLite, an unknown account answered ~1 ms slower (P(unknown < known) 0.18-0.26).
 */
import { setTimeout as delay } from 'node:timers/promises';

export const ANSWER_FLOOR_MS = 50;

/** Resolves ANSWER_FLOOR_MS after `arrived` (a performance.now() taken when the request arrived). */
export async function answerFloor(arrived: number): Promise<void> {
  await delay(Math.max(0, ANSWER_FLOOR_MS - (performance.now() - arrived)));
}
