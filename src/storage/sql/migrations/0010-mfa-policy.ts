import type { Kysely, Migration } from 'kysely';
import type { ColumnTypes } from '../dialects/dialect.js';

/**
 * The MFA policy (issue 15, ADR 0024 "Policy").
 * - `users.mfa_required` (0 or 1): an administrator requires a second factor of this user, whatever
 *   MFA_POLICY says (the flag only tightens).
 * - `mfa_challenges.enrolment_factor_id`: the pending TOTP factor started with this mfa_token
 *   (POST /mfa/enrol) by a user the policy requires to have one and who has none; the mfa grant's
 *   first code confirms it. Null for every other challenge.
 */
export const mfaPolicy = ({ text }: ColumnTypes): Migration => ({
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('users')
      .addColumn('mfa_required', 'integer', (col) => col.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('mfa_challenges').addColumn('enrolment_factor_id', text).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('mfa_challenges').dropColumn('enrolment_factor_id').execute();
    await db.schema.alterTable('users').dropColumn('mfa_required').execute();
  },
});
