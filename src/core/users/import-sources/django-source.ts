/**
 * `--from django`: `python manage.py dumpdata auth.user` (JSON: an array of `{ model, pk, fields }`).
 * From `fields`: username, password, email, first_name + last_name as the full name, is_active
 * (false: disabled). Django keeps no verified flag on auth.user, so addresses come unverified.
 * Passwords as Django's hashers store them: PBKDF2 (`pbkdf2_sha256$`, `pbkdf2_sha1$`) kept as
 * they are; `bcrypt$$2b$…` and `argon2$argon2id$…` with Django's algorithm prefix cut off;
 * unusable passwords (`!…`) and the hashers read nowhere here (bcrypt_sha256, scrypt, the
 * unsalted and MD5/SHA-1 ones) are rejected with the hasher's name. is_staff/is_superuser give
 * the `admin` scope only with `--admin-from-staff`: Django's staff flag is about its admin site,
 * which need not mean administering this server; otherwise a note counts them.
 */
import { ADMIN_SCOPE } from '../../tokens/scopes.js';
import { asFields, flag, joinNames, mapRecords, optionalText, RecordError, requiredText, type Fields } from './source-fields.js';
import { ImportFileError, type ImportSource, type SourceUser } from './import-source.js';
import { arrayRecords, parseJson } from './read-records.js';

/** Django's stored password in a form core/passwords/legacy reads, or a RecordError naming the hasher. */
export function djangoPasswordHash(stored: string): string {
  if (stored.startsWith('!')) throw new RecordError('password is unusable in Django (set_unusable_password): nothing to import');
  // BCryptPasswordHasher writes 'bcrypt$' + the bcrypt string; Argon2PasswordHasher 'argon2' + the PHC string.
  if (stored.startsWith('bcrypt$$2')) return stored.slice('bcrypt$'.length);
  if (stored.startsWith('argon2$argon2')) return stored.slice('argon2'.length);
  if (stored.startsWith('pbkdf2_')) return stored;
  const algorithm = /^([a-z0-9_]+)\$/.exec(stored)?.[1];
  if (algorithm !== undefined) {
    throw new RecordError(`password is from Django's ${algorithm} hasher, which is not read here (PBKDF2, bcrypt and argon2 are)`);
  }
  throw new RecordError('password is not a Django password hash');
}

function fieldsOf(value: unknown): Fields {
  const record = asFields(value, 'a dumpdata record');
  return asFields(record.fields, 'fields');
}

export const djangoSource: ImportSource = {
  name: 'django',
  formats: ['json'],
  read(text, options) {
    const data = parseJson(text);
    if (!Array.isArray(data)) throw new ImportFileError('a dumpdata export is a JSON array of records; run manage.py dumpdata auth.user');
    let staffWithoutAdmin = 0;
    const records = mapRecords(
      arrayRecords(data),
      (value) => {
        const fields = fieldsOf(value);
        const staff = flag(fields, 'is_staff', false) || flag(fields, 'is_superuser', false);
        const user: SourceUser = {
          username: requiredText(fields, 'username'),
          passwordHash: djangoPasswordHash(requiredText(fields, 'password')),
          hashField: 'password',
          email: optionalText(fields, 'email'),
          emailVerified: false,
          fullName: joinNames(optionalText(fields, 'first_name'), optionalText(fields, 'last_name')),
          disabled: !flag(fields, 'is_active', true),
          scopes: staff && options.adminFromStaff === true ? [ADMIN_SCOPE] : [],
        };
        if (staff && options.adminFromStaff !== true) staffWithoutAdmin += 1;
        return user;
      },
      (value) => fieldsOf(value).username,
    );
    const notes =
      staffWithoutAdmin > 0
        ? [`${staffWithoutAdmin} staff or superuser account(s) come without the admin scope; pass --admin-from-staff to give it to them`]
        : [];
    return { records, notes };
  },
};
