import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { booleanOption } from './options.js';
import { UsageError } from './prompt.js';

describe('booleanOption', () => {
  it('reads a flag alone as true, and the words of true and false', () => {
    assert.equal(booleanOption(undefined, '--x'), undefined);
    assert.equal(booleanOption(true, '--x'), true);
    for (const word of ['true', 'YES', 'on', '1']) assert.equal(booleanOption(word, '--x'), true, word);
    for (const word of ['false', 'No', 'off', '0', ' false ']) assert.equal(booleanOption(word, '--x'), false, word);
  });

  it('refuses anything else, naming the option', () => {
    assert.throws(
      () => booleanOption('maybe', '--mfa-required'),
      (error) => error instanceof UsageError && /--mfa-required must be true or false/.test(error.message),
    );
  });
});
