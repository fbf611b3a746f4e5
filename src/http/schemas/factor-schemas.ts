/** Schemas of the second-factor routes (issue 15, ADRs 0024, 0025): bodies, parameters and answers. */
import type { FromSchema } from './from-schema.js';

const challengeSolution = {
  type: 'string',
  maxLength: 4096,
  description: 'The solution of the challenge a refused (429) attempt carried; see docs/SECURITY.md',
} as const;

export const enrolTotpBodySchema = {
  type: 'object',
  required: ['current_password'],
  properties: {
    current_password: { type: 'string', minLength: 1, maxLength: 4096 },
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'What the factor is called in the list (default `Authenticator app`)',
    },
    challenge_solution: challengeSolution,
  },
  additionalProperties: false,
} as const;

export type EnrolTotpBody = FromSchema<typeof enrolTotpBodySchema>;

export const enrolWebAuthnBodySchema = {
  ...enrolTotpBodySchema,
  properties: {
    ...enrolTotpBodySchema.properties,
    name: { ...enrolTotpBodySchema.properties.name, description: 'What the factor is called in the list (default `Passkey`)' },
  },
} as const;

export type EnrolWebAuthnBody = FromSchema<typeof enrolWebAuthnBodySchema>;

export const webauthnEnrolmentSchema = {
  type: 'object',
  required: ['id', 'kind', 'options'],
  properties: {
    id: { type: 'string', description: 'The pending factor; confirm it within 15 minutes' },
    kind: { type: 'string', enum: ['webauthn'] },
    options: {
      type: 'object',
      additionalProperties: true,
      description:
        'PublicKeyCredentialCreationOptionsJSON: hand it to `navigator.credentials.create()` (through ' +
        '`PublicKeyCredential.parseCreationOptionsFromJSON`, or `startRegistration` of @simplewebauthn/browser)',
    },
  },
  additionalProperties: false,
} as const;

export const confirmWebAuthnBodySchema = {
  type: 'object',
  required: ['response'],
  properties: {
    response: {
      type: 'object',
      required: ['id', 'rawId', 'type', 'response'],
      properties: {
        id: { type: 'string', maxLength: 1024 },
        rawId: { type: 'string', maxLength: 1024 },
        type: { type: 'string', enum: ['public-key'] },
        response: {
          type: 'object',
          required: ['clientDataJSON', 'attestationObject'],
          properties: {
            clientDataJSON: { type: 'string', maxLength: 8192 },
            attestationObject: { type: 'string', maxLength: 32768 },
          },
          additionalProperties: true,
        },
      },
      additionalProperties: true,
      description:
        "The authenticator's answer: the JSON of the PublicKeyCredential (`credential.toJSON()`, or `startRegistration`'s result)",
    },
  },
  additionalProperties: false,
} as const;

export type ConfirmWebAuthnBody = FromSchema<typeof confirmWebAuthnBodySchema>;

export const totpEnrolmentSchema = {
  type: 'object',
  required: ['id', 'kind', 'otpauth_uri', 'qr_svg'],
  properties: {
    id: { type: 'string', description: 'The pending factor; confirm it within 15 minutes' },
    kind: { type: 'string', enum: ['totp'] },
    otpauth_uri: { type: 'string', description: 'The otpauth:// URI (it holds the secret): shown this once, never again' },
    qr_svg: { type: 'string', description: 'The URI as a QR code, an SVG document for the authenticator app to scan' },
  },
  additionalProperties: false,
} as const;

/** POST /mfa/enrol (form or JSON): the mfa_token of an `mfa_required` answer with `enrolment_required`. */
export const enrolAtLoginBodySchema = {
  type: 'object',
  properties: {
    mfa_token: { type: 'string', maxLength: 256, description: 'The `mfa_token` of the `mfa_required` answer (required)' },
    name: {
      type: 'string',
      maxLength: 64,
      description: 'What the factor is called in the list (default `Authenticator app`)',
    },
  },
} as const;

export type EnrolAtLoginBody = FromSchema<typeof enrolAtLoginBodySchema>;

export const factorIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: 'The factor id' } },
} as const;

export type FactorIdParams = FromSchema<typeof factorIdParamsSchema>;

export const confirmTotpBodySchema = {
  type: 'object',
  required: ['code'],
  properties: { code: { type: 'string', minLength: 1, maxLength: 16, description: 'A code the authenticator app shows now' } },
  additionalProperties: false,
} as const;

export type ConfirmTotpBody = FromSchema<typeof confirmTotpBodySchema>;

const recoveryCodesSchema = {
  type: 'array',
  items: { type: 'string' },
  description: 'Ten single-use codes, shown this once: each logs in once in place of a TOTP code',
} as const;

export const confirmedFactorSchema = {
  type: 'object',
  required: ['id', 'kind'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['totp', 'webauthn'] },
    recovery_codes: { ...recoveryCodesSchema, description: `${recoveryCodesSchema.description}; only with the first factor` },
  },
  additionalProperties: false,
} as const;

/** A confirmed factor as its user sees it: never a secret. */
export const publicFactorSchema = {
  type: 'object',
  required: ['id', 'kind', 'name', 'created_at', 'last_used_at'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['totp', 'webauthn'] },
    name: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
    backed_up: { type: 'boolean', description: 'WebAuthn only: the credential is backed up (a synced passkey)' },
  },
  additionalProperties: false,
} as const;

export const renameFactorBodySchema = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64, description: 'What the factor is called in the list' } },
  additionalProperties: false,
} as const;

export type RenameFactorBody = FromSchema<typeof renameFactorBodySchema>;

export const factorListSchema = {
  type: 'object',
  required: ['factors', 'recovery_codes_left'],
  properties: {
    factors: {
      type: 'array',
      items: publicFactorSchema,
    },
    recovery_codes_left: { type: 'integer', description: 'Unused recovery codes' },
  },
  additionalProperties: false,
} as const;

export const regenerateRecoveryCodesBodySchema = {
  type: 'object',
  required: ['current_password'],
  properties: { current_password: { type: 'string', minLength: 1, maxLength: 4096 }, challenge_solution: challengeSolution },
  additionalProperties: false,
} as const;

export type RegenerateRecoveryCodesBody = FromSchema<typeof regenerateRecoveryCodesBodySchema>;

export const recoveryCodesAnswerSchema = {
  type: 'object',
  required: ['recovery_codes'],
  properties: { recovery_codes: recoveryCodesSchema },
  additionalProperties: false,
} as const;
