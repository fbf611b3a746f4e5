/** Who is acting, and from where: for the audit log. */
export interface ActionContext {
  /** A username, `client:<id>`, `cli`, or `system`. */
  readonly actor: string;
  readonly ip: string | null;
  readonly userAgent?: string | null;
}

export const SYSTEM: ActionContext = Object.freeze({ actor: 'system', ip: null });
export const CLI: ActionContext = Object.freeze({ actor: 'cli', ip: null });
