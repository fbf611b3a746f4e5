/** `portcullis users sessions|revoke-sessions`: a user's logins, and ending them (audited with the actor `cli`). */
import { CLI } from '../../core/action-context.js';
import { toPublicSession } from '../../core/sessions/session.js';
import { withUserAdmin } from '../../server/admin.js';
import { printJson, printTable } from '../table.js';

export async function listSessionsCommand(name: string, options: { readonly json?: boolean }): Promise<void> {
  await withUserAdmin(async ({ users, sessions }) => {
    const user = await users.get(name);
    const rows = (await sessions.listActive(user)).map((session) => toPublicSession(session));
    if (options.json) {
      printJson(rows);
      return;
    }
    if (rows.length === 0) {
      console.log(`No active sessions for ${user.username}.`);
      return;
    }
    printTable(
      ['ID', 'CREATED', 'LAST USED', 'IDLE EXPIRY', 'EXPIRES', 'IP', 'SCOPE', 'USER AGENT'],
      rows.map((row) => [
        row.id,
        row.created_at,
        row.last_used_at,
        row.idle_expires_at,
        row.expires_at,
        row.ip ?? '',
        row.scope,
        row.user_agent ?? '',
      ]),
    );
  });
}

export async function revokeSessionsCommand(name: string, options: { readonly session?: string }): Promise<void> {
  await withUserAdmin(async ({ users, sessions }) => {
    const user = await users.get(name);
    if (options.session !== undefined) {
      await sessions.revokeOfUser(user, options.session, 'revoked_by_admin', CLI);
      console.log(`Revoked session ${options.session} of ${user.username}.`);
      return;
    }
    const count = await sessions.revokeAll(user, 'revoked_by_admin', CLI);
    console.log(`Revoked ${count} session${count === 1 ? '' : 's'} of ${user.username}.`);
  });
}
