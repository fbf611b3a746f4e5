/** Table types for Kysely. Portable column types only (text, integer), so one schema serves every dialect. */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  username: string;
  username_key: string;
  email: string | null;
  full_name: string | null;
  password_hash: string;
  /** 0 or 1. */
  disabled: number;
  /** Space-separated scope tokens. */
  scopes: string;
  /** ISO 8601, UTC. */
  created_at: string;
  updated_at: string;
}

export interface Database {
  users: UsersTable;
}

export type { Generated };
