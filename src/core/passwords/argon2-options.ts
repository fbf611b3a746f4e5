/**
 * @node-rs/argon2's options for the configured parameters, for every place that hashes with them
 * (the hashing threads, libuv's pool, the benchmark). Kept free of other imports: a hashing
 * thread loads it.
 */
import type { Options } from '@node-rs/argon2';
import type { Argon2Parameters } from '../config.js';

/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, which isolated modules cannot read). */
const ARGON2ID = 2;

export function argon2idOptions(params: Argon2Parameters): Options {
  return { algorithm: ARGON2ID, memoryCost: params.memoryKiB, timeCost: params.iterations, parallelism: params.parallelism };
}
