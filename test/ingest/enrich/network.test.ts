import { describe, expect, it } from 'vitest';
import { sourceNetwork } from '../../../src/ingest/enrich/network.js';

describe('sourceNetwork', () => {
  it.each([
    ['203.0.113.7', '203.0.113.0/24'],
    ['10.0.0.255', '10.0.0.0/24'],
    ['2001:db8:1234:5678::9', '2001:db8:1234::/48'],
    ['2001:0db8:0001:ffff:0:0:0:1', '2001:db8:1::/48'],
    ['::1', '::/48'],
    ['0:db8:1::5', '0:db8:1::/48'],
    ['2001:db8:0:1::5', '2001:db8::/48'],
    ['fe80::1%eth0', 'fe80::/48'],
    ['::ffff:198.51.100.4', '198.51.100.0/24'],
    ['64:ff9b::203.0.113.7', '64:ff9b::/48'],
    ['2001:db8:1:2:3:4:198.51.100.4', '2001:db8:1::/48'],
    ['2001:DB8:ABCD::', '2001:db8:abcd::/48'],
  ])('%s → %s', (ip, net) => expect(sourceNetwork(ip)).toBe(net));

  it.each(['', 'host.example', '1.2.3', '2001:db8::g'])('%j is not an address', (ip) => expect(sourceNetwork(ip)).toBeNull());

  it.each([
    ['hex groups', '1:'.repeat(5_000)],
    ['a mapped-looking tail', '::ffff:' + '1.'.repeat(5_000)],
    ['digits', '9'.repeat(10_000)],
  ])('rejects a 10 kB hostile address (%s) quickly', (_name, ip) => {
    expect(sourceNetwork(ip)).toBeNull();
  }, 1_000);
});
