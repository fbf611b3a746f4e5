/**
 * `--from keycloak`: a realm export (`kc.sh export --realm R --file realm.json`, or the
 * `<realm>-users-*.json` files of `--dir`): `users[]` with username, email, emailVerified,
 * enabled, firstName/lastName and credentials[]. The credential of type `password` keeps its
 * hash as JSON strings: secretData `{value, salt}` (base64) and credentialData
 * `{hashIterations, algorithm, additionalParameters}`. PBKDF2 (`pbkdf2-sha256`, `pbkdf2-sha512`,
 * `pbkdf2`) becomes the canonical `keycloak-pbkdf2-…$<iterations>$<salt>$<value>` of ADR 0026;
 * argon2 (Keycloak 24+) becomes the PHC string of its parameters. Users without a password
 * credential (federated from LDAP, social logins, passkeys only) are rejected with that reason.
 * realmRoles become scopes only with `--scopes-from-roles`, leaving out Keycloak's own
 * (default-roles-<realm>, offline_access, uma_authorization) and names that are not scope tokens.
 */
import { isScopeToken } from '../../tokens/scopes.js';
import { asFields, field, flag, joinNames, mapRecords, optionalText, RecordError, requiredText, type Fields } from './source-fields.js';
import { ImportFileError, type ImportSource, type SourceUser } from './import-source.js';
import { arrayRecords, parseJson } from './read-records.js';

const KEYCLOAK_ROLES = /^(default-roles-.*|offline_access|uma_authorization)$/;
const PBKDF2_PREFIXES: Readonly<Record<string, string>> = {
  'pbkdf2-sha256': 'keycloak-pbkdf2-sha256',
  'pbkdf2-sha512': 'keycloak-pbkdf2-sha512',
  pbkdf2: 'keycloak-pbkdf2',
};

function jsonField(credential: Fields, name: string): Fields {
  const text = requiredText(credential, name);
  try {
    return asFields(JSON.parse(text), `the password credential's ${name}`);
  } catch (error) {
    if (error instanceof RecordError) throw error;
    throw new RecordError(`the password credential's ${name} is not valid JSON`);
  }
}

/** Keycloak's additionalParameters hold each value as a list of strings: `{ "memory": ["7168"] }`. */
function parameter(parameters: Fields, name: string): string {
  const value = parameters[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string' && typeof first !== 'number') throw new RecordError(`the argon2 credential has no ${name}`);
  return String(first);
}

function unpadded(base64: string): string {
  return base64.replace(/=+$/, '');
}

/** The password credential's hash in a form core/passwords/legacy reads. */
export function keycloakPasswordHash(credential: Fields): string {
  const secret = jsonField(credential, 'secretData');
  const data = jsonField(credential, 'credentialData');
  const value = requiredText(secret, 'value');
  const salt = requiredText(secret, 'salt');
  const algorithm = requiredText(data, 'algorithm');
  const iterations = data.hashIterations;
  if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 1) {
    throw new RecordError("the password credential's hashIterations must be a positive integer");
  }
  const pbkdf2 = PBKDF2_PREFIXES[algorithm];
  if (pbkdf2 !== undefined) return `${pbkdf2}$${iterations}$${salt}$${value}`;
  if (algorithm === 'argon2') {
    const parameters = data.additionalParameters === undefined ? {} : asFields(data.additionalParameters, 'additionalParameters');
    const type = parameter(parameters, 'type');
    if (type !== 'id' && type !== 'i') throw new RecordError(`argon2 type ${type} is not read here (argon2id and argon2i are)`);
    const version = parameter(parameters, 'version') === '1.0' ? 16 : 19;
    const params = `m=${parameter(parameters, 'memory')},t=${iterations},p=${parameter(parameters, 'parallelism')}`;
    return `$argon2${type}$v=${version}$${params}$${unpadded(salt)}$${unpadded(value)}`;
  }
  throw new RecordError(
    `the password credential's algorithm ${algorithm} is not read here (pbkdf2-sha256, pbkdf2-sha512, pbkdf2, argon2 are)`,
  );
}

function rolesToScopes(user: Fields): string[] {
  const roles = user.realmRoles;
  if (roles === undefined || roles === null) return [];
  if (!Array.isArray(roles)) throw new RecordError('realmRoles must be a list');
  return roles.filter((role): role is string => typeof role === 'string' && !KEYCLOAK_ROLES.test(role) && isScopeToken(role));
}

function toUser(value: unknown, scopesFromRoles: boolean): SourceUser {
  const user = asFields(value, 'a user');
  const username = requiredText(user, 'username');
  const credentials = user.credentials === undefined ? [] : user.credentials;
  if (!Array.isArray(credentials)) throw new RecordError('credentials must be a list');
  const password = credentials
    .map((credential) => asFields(credential, 'a credential'))
    .find((credential) => credential.type === 'password');
  if (!password) {
    const federated = typeof user.federationLink === 'string' ? ' (federated: its password is in the user federation provider)' : '';
    throw new RecordError(`no password credential${federated}`);
  }
  return {
    username,
    passwordHash: keycloakPasswordHash(password),
    hashField: 'the password credential',
    email: optionalText(user, 'email'),
    emailVerified: flag(user, 'emailVerified', false),
    fullName: joinNames(optionalText(user, 'firstName'), optionalText(user, 'lastName')),
    disabled: !flag(user, 'enabled', true),
    scopes: scopesFromRoles ? rolesToScopes(user) : [],
  };
}

export const keycloakSource: ImportSource = {
  name: 'keycloak',
  formats: ['json'],
  read(text, options) {
    const data = parseJson(text);
    const users = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Fields).users : undefined;
    if (!Array.isArray(users))
      throw new ImportFileError('a Keycloak realm export is a JSON object with a users list; export the realm with its users');
    const scopesFromRoles = options.scopesFromRoles === true;
    const records = mapRecords(arrayRecords(users), (value) => toUser(value, scopesFromRoles), field('username'));
    const withRoles = users.filter((user) => rolesToScopesSafe(user).length > 0).length;
    const notes =
      !scopesFromRoles && withRoles > 0
        ? [`${withRoles} user(s) have realm roles, not imported as scopes; pass --scopes-from-roles to map them`]
        : [];
    return { records, notes };
  },
};

function rolesToScopesSafe(user: unknown): string[] {
  try {
    return rolesToScopes(asFields(user));
  } catch {
    return [];
  }
}
