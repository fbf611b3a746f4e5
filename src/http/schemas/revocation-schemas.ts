/**
 * GET /revocations, the revocation feed for resource servers. Query-string
 * values arrive as strings (ajv does not coerce here); the cursor and the
 * limit are checked by core, which says what is wrong with them.
 */
import { REVOCATION_PAGE_MAX } from '../../core/sessions/revocation-feed.js';
import type { FromSchema } from './from-schema.js';

export const revocationFeedQuerySchema = {
  type: 'object',
  properties: {
    since: { type: 'string', maxLength: 32, description: 'The `cursor` of the previous answer; absent: the whole list' },
    limit: { type: 'string', maxLength: 8, description: `Entries per answer, an integer from 1 to ${REVOCATION_PAGE_MAX} (the default)` },
  },
  additionalProperties: false,
} as const;

export type RevocationFeedQuery = FromSchema<typeof revocationFeedQuerySchema>;

export const revocationFeedSchema = {
  type: 'object',
  required: ['cursor', 'full', 'more', 'retain_seconds', 'sids', 'versions'],
  properties: {
    cursor: { type: 'string', description: 'Pass it as `since` next time; opaque' },
    full: {
      type: 'boolean',
      description: 'true: the answer starts from the beginning (no `since`, or one older than the log keeps), not from `since`',
    },
    more: { type: 'boolean', description: 'true: more entries follow; ask again at once with `cursor`' },
    retain_seconds: {
      type: 'integer',
      description: 'How long to remember each entry: no access token of it outlives this (token lifetime + clock tolerance + 60 s)',
    },
    sids: {
      type: 'array',
      items: { type: 'string' },
      description: 'Sessions (`sid` claims) whose every access token is revoked',
    },
    versions: {
      type: 'array',
      description: 'Sessions that go on after a password change: their access tokens with a `ver` claim below `ver` are revoked',
      items: {
        type: 'object',
        required: ['sid', 'ver'],
        properties: { sid: { type: 'string' }, ver: { type: 'integer' } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;
