/**
 * The messages Portcullis sends, one entry per kind: its subject, plain text and HTML, with
 * `{{name}}` placeholders filled in when a message is made (HTML-escaped in the HTML part; line
 * breaks taken out in the subject). Every kind gets `product_name` and `public_url`; each declares
 * the others it uses, so a template (a built-in or an override from MAIL_TEMPLATES_DIR) naming an
 * unknown one is refused at start. Adding a kind (`password_reset`, `verify_email`, ...) is one entry.
 */

export interface MailTemplate {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailKind {
  /** Placeholders of this kind besides the common ones. */
  readonly variables: readonly string[];
  readonly template: MailTemplate;
}

export const COMMON_MAIL_VARIABLES = ['product_name', 'public_url'] as const;

export const MAIL_KINDS = {
  test: {
    variables: ['to'],
    template: {
      subject: '{{product_name}}: test message',
      text: 'This is a test message from {{product_name}} ({{public_url}}) to {{to}}.\n\nIf you can read it, mail works.\n',
      html: '<p>This is a test message from {{product_name}} (<a href="{{public_url}}">{{public_url}}</a>) to {{to}}.</p>\n<p>If you can read it, mail works.</p>\n',
    },
  },
  // The link's page is the operator's (PUBLIC_URL/reset-password); API clients can take the token itself.
  password_reset: {
    variables: ['username', 'token', 'expires_minutes', 'expires_at'],
    template: {
      subject: '{{product_name}}: reset your password',
      text:
        'Hello {{username}},\n\n' +
        'Someone (we hope you) asked to reset the password of your {{product_name}} account.\n' +
        'To choose a new one, open this link within {{expires_minutes}} minutes (until {{expires_at}}):\n\n' +
        '{{public_url}}/reset-password?token={{token}}\n\n' +
        'Or give an app this reset code: {{token}}\n\n' +
        'The link works once. Setting a new password ends every session of the account.\n' +
        'If you did not ask for this, ignore this message: your password stays as it is.\n',
      html:
        '<p>Hello {{username}},</p>\n' +
        '<p>Someone (we hope you) asked to reset the password of your {{product_name}} account.</p>\n' +
        '<p><a href="{{public_url}}/reset-password?token={{token}}">Choose a new password</a> within {{expires_minutes}} minutes (until {{expires_at}}).</p>\n' +
        '<p>Or give an app this reset code: <code>{{token}}</code></p>\n' +
        '<p>The link works once. Setting a new password ends every session of the account.<br>\n' +
        'If you did not ask for this, ignore this message: your password stays as it is.</p>\n',
    },
  },
  // The link's page is the operator's (PUBLIC_URL/verify-email), which posts the token to POST /email/verify.
  verify_email: {
    variables: ['username', 'email', 'token', 'expires_hours', 'expires_at'],
    template: {
      subject: '{{product_name}}: confirm your e-mail address',
      text:
        'Hello {{username}},\n\n' +
        'To confirm that {{email}} is the address of your {{product_name}} account, open this link within {{expires_hours}} hours (until {{expires_at}}):\n\n' +
        '{{public_url}}/verify-email?token={{token}}\n\n' +
        'Or give an app this code: {{token}}\n\n' +
        'The link works once. If you did not sign up or ask for this, ignore this message.\n',
      html:
        '<p>Hello {{username}},</p>\n' +
        '<p>To confirm that {{email}} is the address of your {{product_name}} account, ' +
        '<a href="{{public_url}}/verify-email?token={{token}}">open this link</a> within {{expires_hours}} hours (until {{expires_at}}).</p>\n' +
        '<p>Or give an app this code: <code>{{token}}</code></p>\n' +
        '<p>The link works once. If you did not sign up or ask for this, ignore this message.</p>\n',
    },
  },
  // To the old address when a change of address is asked for: the new one is not yet verified, and this one still counts.
  email_change_requested: {
    variables: ['username', 'new_email'],
    template: {
      subject: '{{product_name}}: a change of your e-mail address was asked for',
      text:
        'Hello {{username}},\n\n' +
        'Someone signed in to your {{product_name}} account asked to change its e-mail address to {{new_email}}.\n' +
        "This address stays the account's until the new one is confirmed from the mail sent there.\n\n" +
        'If that was not you, your password is known to someone else: reset it now at {{public_url}}/reset-password.\n',
      html:
        '<p>Hello {{username}},</p>\n' +
        '<p>Someone signed in to your {{product_name}} account asked to change its e-mail address to {{new_email}}.<br>\n' +
        "This address stays the account's until the new one is confirmed from the mail sent there.</p>\n" +
        '<p>If that was not you, your password is known to someone else: <a href="{{public_url}}/reset-password">reset it now</a>.</p>\n',
    },
  },
  // To the old address once the new one is verified.
  email_changed: {
    variables: ['username', 'new_email'],
    template: {
      subject: '{{product_name}}: your e-mail address was changed',
      text:
        'Hello {{username}},\n\n' +
        'The e-mail address of your {{product_name}} account is now {{new_email}}; mail for the account no longer comes here.\n\n' +
        'If that was not you, contact the operator of {{product_name}} ({{public_url}}).\n',
      html:
        '<p>Hello {{username}},</p>\n' +
        '<p>The e-mail address of your {{product_name}} account is now {{new_email}}; mail for the account no longer comes here.</p>\n' +
        '<p>If that was not you, contact the operator of {{product_name}} (<a href="{{public_url}}">{{public_url}}</a>).</p>\n',
    },
  },
  // The link's page is the operator's (PUBLIC_URL/sign-in): it posts the token to POST /token (docs/http-api.md#sign-in-links).
  sign_in_link: {
    variables: ['username', 'token', 'expires_minutes', 'expires_at'],
    template: {
      subject: '{{product_name}}: your sign-in link',
      text:
        'Hello {{username}},\n\n' +
        'Someone (we hope you) asked for a link to sign in to your {{product_name}} account without a password.\n' +
        'To sign in, open this link within {{expires_minutes}} minutes (until {{expires_at}}):\n\n' +
        '{{public_url}}/sign-in?token={{token}}\n\n' +
        'Or give an app this sign-in code: {{token}}\n\n' +
        'The link works once. Anyone who has it can sign in as you: do not forward it.\n' +
        'If you did not ask for this, ignore this message: nobody can sign in with it but whoever reads this mailbox.\n',
      html:
        '<p>Hello {{username}},</p>\n' +
        '<p>Someone (we hope you) asked for a link to sign in to your {{product_name}} account without a password.</p>\n' +
        '<p><a href="{{public_url}}/sign-in?token={{token}}">Sign in</a> within {{expires_minutes}} minutes (until {{expires_at}}).</p>\n' +
        '<p>Or give an app this sign-in code: <code>{{token}}</code></p>\n' +
        '<p>The link works once. Anyone who has it can sign in as you: do not forward it.<br>\n' +
        'If you did not ask for this, ignore this message: nobody can sign in with it but whoever reads this mailbox.</p>\n',
    },
  },
  // An administrator removed the account's second factors (issue 15): the owner should know, since login is one step again.
  factors_reset: {
    variables: ['username'],
    template: {
      subject: '{{product_name}}: your second factors were removed',
      text:
        'Hello {{username}},\n\n' +
        'An administrator of {{product_name}} removed the second factors (authenticator apps and recovery codes) of your account.\n' +
        'Until you enrol one again, your password alone logs in.\n\n' +
        'If you did not ask for this, contact the operator of {{product_name}} ({{public_url}}) and change your password.\n',
      html:
        '<p>Hello {{username}},</p>\n' +
        '<p>An administrator of {{product_name}} removed the second factors (authenticator apps and recovery codes) of your account.<br>\n' +
        'Until you enrol one again, your password alone logs in.</p>\n' +
        '<p>If you did not ask for this, contact the operator of {{product_name}} (<a href="{{public_url}}">{{public_url}}</a>) and change your password.</p>\n',
    },
  },
} as const satisfies Record<string, MailKind>;

export type MailKindName = keyof typeof MAIL_KINDS;
export const MAIL_KIND_NAMES = Object.keys(MAIL_KINDS) as MailKindName[];

/** The values a kind's placeholders take (the common ones are added by the mailer). */
export type MailValues<K extends MailKindName> = { readonly [V in (typeof MAIL_KINDS)[K]['variables'][number]]: string };

export type MailTemplateOverrides = { readonly [K in MailKindName]?: Partial<MailTemplate> };

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

function fill(template: string, values: Readonly<Record<string, string>>, escape: (value: string) => string): string {
  return template.replace(PLACEHOLDER, (_, name: string) => escape(values[name] ?? ''));
}

/** The templates in use: the built-ins, each part replaced by an override where one is given. */
export class MailTemplates {
  private readonly templates: Readonly<Record<MailKindName, MailTemplate>>;

  /** Throws a TypeError naming every placeholder an override uses that its kind does not have. */
  constructor(overrides: MailTemplateOverrides = {}) {
    const problems: string[] = [];
    const templates = {} as Record<MailKindName, MailTemplate>;
    for (const kind of MAIL_KIND_NAMES) {
      const template = { ...MAIL_KINDS[kind].template, ...overrides[kind] };
      const known = new Set<string>([...COMMON_MAIL_VARIABLES, ...MAIL_KINDS[kind].variables]);
      for (const [part, source] of Object.entries(template)) {
        for (const [, name] of source.matchAll(PLACEHOLDER)) {
          if (!known.has(name!)) problems.push(`${kind} ${part}: unknown placeholder {{${name}}} (known: ${[...known].join(', ')})`);
        }
      }
      templates[kind] = template;
    }
    if (problems.length > 0) throw new TypeError(`Mail templates:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.templates = templates;
  }

  render(kind: MailKindName, values: Readonly<Record<string, string>>): MailTemplate {
    const template = this.templates[kind];
    return {
      subject: fill(template.subject, values, (value) => value.replace(/[\r\n]+/g, ' ')).trim(),
      text: fill(template.text, values, (value) => value),
      html: fill(template.html, values, escapeHtml),
    };
  }
}
