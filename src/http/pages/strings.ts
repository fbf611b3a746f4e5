/**
 * Every string a person reads on the hosted pages, in one place for translation: titles, labels,
 * buttons, notices and the words for each error. Strings that take a value are functions; the
 * value is escaped where the page writes it (html.ts), never here. Core's error messages are not
 * shown where a sentence here says it better; where none does (a password policy's rule), the
 * error's own message is, which core keeps free of secrets.
 */
import type { HttpErrorCode } from '../error-handler.js';

export const STRINGS = {
  language: 'en',
  skipToContent: 'Skip to the form',
  required: 'required',
  errorHeading: 'There is a problem',
  noticeHeading: 'Done',

  signIn: {
    title: 'Sign in',
    intro: (product: string) => `Sign in to your ${product} account.`,
    username: 'Username or e-mail address',
    password: 'Password',
    submit: 'Sign in',
    forgot: 'Forgot your password?',
    signUp: 'Create an account',
    signedOut: 'You are signed out.',
    passwordChanged: 'Your password is changed. Sign in with the new one.',
    signedUp: 'Your account is created. Sign in.',
  },
  secondStep: {
    title: 'Second step',
    intro: 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
    otp: 'Code from your authenticator app',
    otpHint: '6 digits',
    orRecovery: 'No access to your app? Use a recovery code instead.',
    recoveryCode: 'Recovery code',
    submit: 'Continue',
    expired: 'The sign-in took too long. Start again.',
    oneOfThem: 'Enter a code from your app or a recovery code, not both.',
  },
  signInLink: {
    title: 'Sign in with a link',
    intro: (product: string) => `Sign in to your ${product} account with the link from your e-mail.`,
    submit: 'Sign in',
    missing: 'This page needs the link from your e-mail. Ask for a new one if it has expired.',
  },
  authorize: {
    errorTitle: 'This sign-in link is not valid',
    unknownClient: 'The application that sent you here is not registered with this server. Nothing was sent back to it.',
    badRedirectUri:
      'The application that sent you here asked to be answered at an address it has not registered. Nothing was sent back to it.',
    consentTitle: 'Allow access?',
    consentIntro: (client: string, product: string) => `${client} asks to use your ${product} account.`,
    consentScopes: 'It will be able to:',
    consentNoScopes: 'It asks only to know who you are.',
    /** A scope in plain words: OpenID Connect's identity scopes by what they show, the others by name. */
    scope: (scope: string) => {
      switch (scope) {
        case 'openid':
          return 'know who you are';
        case 'profile':
          return 'see your username and name';
        case 'email':
          return 'see your e-mail address and whether it is verified';
        default:
          return `use the scope “${scope}”`;
      }
    },
    allow: 'Allow',
    deny: 'Deny',
  },
  signOut: {
    title: 'Sign out',
    intro: 'Sign out of this browser? Your other sessions stay signed in.',
    submit: 'Sign out',
  },
  /** RP-initiated logout (logout-pages.ts). */
  logout: {
    title: 'Sign out',
    confirmFor: (client: string, product: string) => `${client} asks you to sign out of ${product} in this browser.`,
    confirm: (product: string) => `Sign out of ${product} in this browser?`,
    otherApps: 'Applications you signed in to through this session are told that you signed out.',
    submit: 'Sign out',
    stay: 'Stay signed in',
    errorTitle: 'This sign-out link is not valid',
    badHint:
      'The sign-out request carries a token that this server did not issue, or that is not an ID token. Nothing was sent back to the application.',
    unknownClient: 'The application that sent you here is not registered with this server. Nothing was sent back to it.',
    clientMismatch: 'The sign-out request names an application that its token was not issued to. Nothing was sent back to it.',
    badRedirectUri:
      'The application that sent you here asked to be sent back to an address it has not registered. Nothing was sent back to it.',
    badRequest: 'The sign-out request is malformed. Nothing was sent back to the application.',
  },
  account: {
    title: 'Your account',
    signedInAs: 'Signed in as',
    email: 'E-mail address',
    emailVerified: 'verified',
    emailUnverified: 'not verified',
    noEmail: 'none',
    sessionsHeading: 'Sessions',
    sessionsIntro: 'Where your account is signed in. End any session you do not recognise.',
    sessionStarted: 'Started',
    sessionLastUsed: 'Last used',
    sessionFrom: 'From',
    sessionDevice: 'Device',
    sessionUnknown: 'unknown',
    thisSession: 'this browser',
    endSession: 'End session',
    endSessionOf: (started: string) => `End session started ${started}`,
    sessionEnded: 'The session is ended.',
    passwordHeading: 'Change password',
    currentPassword: 'Current password',
    newPassword: 'New password',
    changePassword: 'Change password',
    passwordChanged: 'Your password is changed. Your other sessions are signed out.',
    factorsHeading: 'Second factors',
    noFactors: 'No second factor yet. Add an authenticator app or a passkey to protect your account.',
    factorKind: { totp: 'Authenticator app', webauthn: 'Security key or passkey' } as Record<string, string>,
    factorAdded: 'Added',
    removeFactor: 'Remove',
    removeFactorOf: (name: string) => `Remove ${name}`,
    factorRemoved: 'The second factor is removed.',
    recoveryCodesLeft: (count: number) => `${count} unused recovery code${count === 1 ? '' : 's'} left.`,
    signOut: 'Sign out',
    addTotp: 'Add an authenticator app',
    addPasskey: 'Add a passkey or security key',
    newRecoveryCodes: 'New recovery codes',
    renameFactor: 'Rename',
    renameFactorOf: (name: string) => `Rename ${name}`,
    factorAddedNotice: 'The second factor is added.',
    factorRenamed: 'The second factor is renamed.',
  },
  /** The account's factor pages (factor-pages.ts): enrolling, renaming, recovery codes. */
  factors: {
    name: 'Name (optional)',
    nameHint: 'What the list calls it, such as "Work phone".',
    newName: 'New name',
    currentPassword: 'Current password',
    passwordHint: 'Your password confirms that it is you.',
    continue: 'Continue',
    cancel: 'Back to your account',
    totpTitle: 'Add an authenticator app',
    totpIntro: 'Confirm your password, then scan a QR code with your authenticator app.',
    totpScanTitle: 'Scan the QR code',
    totpScan: 'Scan this QR code with your authenticator app, or enter the key below in it by hand.',
    qrAlt: 'QR code of the new authenticator app entry',
    secretLabel: 'Key to enter by hand',
    totpConfirm: 'Then enter the 6-digit code your app shows.',
    totpConfirmRetry: 'Enter the current 6-digit code your app shows. If you could not add the entry, go back and start again.',
    code: 'Code from your authenticator app',
    codeHint: '6 digits',
    confirm: 'Confirm',
    passkeyTitle: 'Add a passkey or security key',
    passkeyIntro: 'Confirm your password, then let your device or security key make a passkey for this site.',
    passkeyCreateTitle: 'Make the passkey',
    passkeyCreate: 'Press the button, then follow what your browser asks (a fingerprint, a PIN, or touching the key).',
    passkeyCreateButton: 'Make the passkey',
    renameTitle: 'Rename a second factor',
    recoveryTitle: 'New recovery codes',
    recoveryIntro: 'New codes replace all your earlier ones, used or not. Confirm your password.',
    recoverySubmit: 'Make new codes',
    codesTitle: 'Save your recovery codes',
    codesIntro:
      'Each code signs you in once when you cannot use your second factor. Keep them somewhere safe: this is the only time they are shown.',
    codesContinue: 'I have saved them: continue',
  },
  /** The WebAuthn parts of the pages (webauthn-page-script.ts): shown only when the browser can run them. */
  webauthn: {
    needsScript: 'This step needs JavaScript and a browser that supports passkeys.',
    failed: 'Your browser did not make or use the passkey (cancelled, timed out, or not supported). Try again.',
    unreadable: 'The answer of the passkey could not be read. Try again.',
    signIn: 'Sign in with a passkey',
    orPasskey: 'Or, without a password:',
    secondStep: 'Use your passkey or security key',
    secondStepIntro: 'Use the passkey or security key you added to your account.',
    orCode: 'Or enter a code:',
  },
  /** Enrolment at login under MFA_POLICY (sign-in-factor-pages.ts). */
  enrolAtLogin: {
    title: 'Set up a second factor',
    intro: 'Your account must have a second factor before it can sign in. Set up an authenticator app on your phone now.',
    start: 'Set up an authenticator app',
    confirm: 'Confirm and sign in',
  },
  forgotPassword: {
    title: 'Forgot your password',
    intro: 'Enter your e-mail address or username. If an account matches, we send it a link to choose a new password.',
    who: 'E-mail address or username',
    submit: 'Send the link',
    sent: 'If an account matches and has an e-mail address, a message with a reset link is on its way.',
  },
  resetPassword: {
    title: 'Choose a new password',
    intro: 'Choose a new password for your account. Every session of the account is signed out.',
    newPassword: 'New password',
    submit: 'Set the password',
    missing: 'This page needs the link from your e-mail.',
  },
  verifyEmail: {
    title: 'Confirm your e-mail address',
    intro: 'Confirm that this is the address of your account.',
    submit: 'Confirm',
    done: (email: string) => `Thank you: ${email} is confirmed.`,
    missing: 'This page needs the link from your e-mail.',
    continue: 'Continue',
  },
  signUp: {
    title: 'Create an account',
    username: 'Username',
    password: 'Password',
    email: 'E-mail address (optional)',
    submit: 'Create the account',
    haveAccount: 'Already have an account? Sign in',
  },
  notFound: { title: 'Page not found', body: 'There is no page here.' },
  csrf: {
    title: 'The form has expired',
    body: 'The form was too old or did not come from this site. Go back, reload the page and try again.',
  },
  failure: { title: 'Something went wrong', body: 'The server could not do this. Try again in a moment.' },
  back: 'Back to sign in',
  unreadable: 'What you sent could not be read. Go back and try again.',
  tooManyAttempts: (seconds: number, link: boolean) =>
    `Too many attempts. Try again in ${minutesOrSeconds(seconds)}` + (link ? ', or ask for a sign-in link by e-mail.' : '.'),
  tooManyRequests: (seconds: number) => `Too many requests. Try again in ${minutesOrSeconds(seconds)}.`,
} as const;

function minutesOrSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.ceil(seconds))} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** Each error a page can show, in words; codes not listed show the error's own message (core's, free of secrets). */
export const ERROR_STRINGS: Partial<Readonly<Record<HttpErrorCode, string>>> = Object.freeze({
  ERR_INVALID_CREDENTIALS: 'The username or password is not right.',
  ERR_INACTIVE_USER: 'This account is disabled.',
  ERR_EMAIL_NOT_VERIFIED: 'Confirm your e-mail address first: open the link in the message we sent you.',
  ERR_WRONG_PASSWORD: 'The current password is not right.',
  ERR_INVALID_RESET_TOKEN: 'This link is invalid, used or expired. Ask for a new one.',
  ERR_INVALID_VERIFICATION_TOKEN: 'This link is invalid, used or expired.',
  ERR_INVALID_SIGN_IN_LINK: 'This sign-in link is invalid, used or expired. Ask for a new one.',
  ERR_UNSUPPORTED_GRANT_TYPE: 'Sign-in links are off on this server.',
  ERR_INVALID_MFA_TOKEN: 'The sign-in took too long or had too many wrong codes. Start again.',
  ERR_INVALID_OTP: 'The code is not right, or was used already.',
  ERR_INVALID_WEBAUTHN: 'The passkey or security key was not accepted. Try again, or use another way.',
  ERR_MAIL_UNAVAILABLE: 'This server cannot send e-mail. Ask your administrator.',
  ERR_USERNAME_TAKEN: 'That username is taken.',
  ERR_EMAIL_TAKEN: 'That e-mail address belongs to another account.',
  ERR_REGISTRATION_CLOSED: 'Sign-up is closed on this server.',
  ERR_INSUFFICIENT_USER_AUTHENTICATION: 'Removing your last second factor needs a recent sign-in: sign out, sign in again and retry.',
  ERR_NOT_FOUND: 'There is no such item.',
  ERR_OVERLOADED: 'The server is busy. Try again in a moment.',
  ERR_STORAGE_UNAVAILABLE: 'The server is busy. Try again in a moment.',
  ERR_PAYLOAD_TOO_LARGE: 'What you sent is too long.',
});
