/**
 * SSRF forms an outside review tried against the production policy (allowPrivate false): literal
 * address spellings, IPv6 embeddings of IPv4, and the metadata service behind an allowed host.
 */
import { describe, expect, it } from 'vitest';
import { addressRefusal, classifyAddress } from '../../lib/address-guard.js';
import { urlRefusal } from '../../lib/outbound-http.js';

const prod = { allowPrivate: false, allowedHosts: [] as string[] };

describe('literal address forms are refused', () => {
  const refused = [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[0:0:0:0:0:ffff:169.254.169.254]/',
    'http://169.254.169.254/',
    'http://[fd00:ec2::254]/',
    'http://10.0.0.1:6379/',
    'http://[fe80::1%25eth0]/',
    'http://[::]/',
    'http://[64:ff9b::a00:1]/',
    'http://[2002:7f00:1::]/',
    'http://100.100.100.200/',
    'http://[::ffff:0:0]/',
  ];
  for (const u of refused) it(u, () => expect(urlRefusal(prod, u)).toBeDefined());
});

describe('forms found by the review', () => {
  it('IPv4-compatible ::a.b.c.d (the URL parser rewrites it to ::7f00:1) is judged as IPv4', () => {
    // new URL('http://[::127.0.0.1]/').hostname === '[::7f00:1]'
    expect(new URL('http://[::127.0.0.1]/').hostname).toBe('[::7f00:1]');
    expect(classifyAddress('::7f00:1')).not.toBe('public');
  });
  it('the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) is not public', () => {
    expect(classifyAddress('64:ff9b:1::a00:1')).not.toBe('public');
  });
  it('a host in WEBHOOK_ALLOWED_HOSTS still may not resolve to the metadata service', () => {
    expect(addressRefusal({ allowPrivate: false, allowedHosts: ['hooks.partner.example'] }, 'hooks.partner.example', '169.254.169.254')).toBeDefined();
    // An allowed host may still reach a private address: that is what the list is for.
    expect(addressRefusal({ allowPrivate: false, allowedHosts: ['hooks.partner.example'] }, 'hooks.partner.example', '10.1.2.3')).toBeUndefined();
  });
  it('a refusal names neither the resolved address nor its kind (the delivery log reaches the shipper)', () => {
    const refusal = addressRefusal(prod, 'redis.internal', '10.0.0.7')!;
    expect(refusal).not.toContain('10.0.0.7');
    expect(refusal).not.toMatch(/private|loopback|link-local/);
    expect(refusal).toContain('redis.internal');
  });
});
