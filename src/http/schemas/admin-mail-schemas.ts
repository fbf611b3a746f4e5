/** JSON Schemas of the admin API's mail routes (GET /admin/mail/outbox, POST /admin/users/{username}/password-reset). */

const count = (description: string) => ({ type: 'integer', minimum: 0, description }) as const;

export const mailOutboxSchema = {
  type: 'object',
  required: ['queued', 'sending', 'sent', 'failed', 'oldest_queued_age_seconds'],
  properties: {
    queued: count('Messages waiting to be sent, or being sent'),
    sending: count('Of the queued, those a sender holds now (claimed, its lease not ended)'),
    sent: count('Messages sent (accepted by the SMTP server or webhook) in the last MAIL_OUTBOX_RETENTION_DAYS'),
    failed: count('Messages given up on (refused for good, or every attempt failed) in the last MAIL_OUTBOX_RETENTION_DAYS'),
    oldest_queued_age_seconds: {
      type: 'number',
      minimum: 0,
      description: 'Age of the oldest queued message; 0 when none is queued. Grows while mail cannot be sent',
    },
  },
  additionalProperties: false,
} as const;

export const passwordResetSentSchema = {
  type: 'object',
  required: ['to'],
  properties: { to: { type: 'string', description: "The address the mail goes to: the user's e-mail address" } },
  additionalProperties: false,
} as const;
