import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddressKey } from './client-address.js';

describe('clientAddressKey', () => {
  it('keeps an IPv4 address', () => {
    assert.equal(clientAddressKey('203.0.113.7'), '203.0.113.7');
  });

  it('groups IPv6 addresses by their /64', () => {
    assert.equal(clientAddressKey('2001:db8:0:1::1'), '2001:db8:0:1::/64');
    assert.equal(clientAddressKey('2001:DB8:0:1:ffff:ffff:ffff:ffff'), '2001:db8:0:1::/64');
    assert.equal(clientAddressKey('2001:db8::'), '2001:db8:0:0::/64');
    assert.equal(clientAddressKey('::1'), '0:0:0:0::/64');
    assert.equal(clientAddressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientAddressKey('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 client', () => {
    assert.equal(clientAddressKey('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(clientAddressKey('::ffff:c000:0221'), '192.0.2.33');
  });

  it('names a missing address, and keeps anything else as given', () => {
    assert.equal(clientAddressKey(null), 'unknown');
    assert.equal(clientAddressKey(''), 'unknown');
    assert.equal(clientAddressKey('not-an-ip'), 'not-an-ip');
  });
});
