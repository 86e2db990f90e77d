/**
 * Which addresses an outgoing webhook may connect to (DESIGN.md "Shippers", docs/security.md):
 * a shipper chooses the URL, so without this check UVIS would fetch whatever it names inside our
 * network (Redis, PostgreSQL, the cloud's metadata service with its credentials). The check runs
 * on the address the connection is actually made to (lib/outbound-http.ts calls it from the
 * socket's DNS lookup), so a name that resolves to a public address when the URL is saved and to
 * 127.0.0.1 when the request is sent (DNS rebinding) is still refused.
 */
import { BlockList, isIP } from 'node:net';

export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'metadata' | 'reserved';

function list(entries: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const b = new BlockList();
  for (const [net, prefix, type] of entries) b.addSubnet(net, prefix, type);
  return b;
}

// Cloud metadata services: credentials for the machine's role. Refused even where private addresses are allowed.
const METADATA = list([
  ['169.254.169.254', 32, 'ipv4'],
  ['169.254.170.2', 32, 'ipv4'],
  ['100.100.100.200', 32, 'ipv4'],
  ['fd00:ec2::254', 128, 'ipv6'],
]);
const LOOPBACK = list([
  ['127.0.0.0', 8, 'ipv4'],
  // 0.0.0.0 reaches the machine itself on Linux.
  ['0.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6'],
]);
const LINK_LOCAL = list([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
]);
const PRIVATE = list([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT, also used inside clouds
  ['fc00::', 7, 'ipv6'],
]);
const RESERVED = list([
  ['192.0.0.0', 24, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['ff00::', 8, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'], // NAT64 can map to any IPv4 address, private ones included
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64 (RFC 8215) likewise
  ['::', 96, 'ipv6'], // IPv4-compatible (deprecated): [::127.0.0.1] parses to ::7f00:1
  ['2002::', 16, 'ipv6'], // 6to4 embeds an IPv4 address likewise
]);

/** ::ffff:10.0.0.1 and ::ffff:a00:1 are IPv4 addresses in IPv6 clothing: judge them as IPv4. */
function unmapIpv4(address: string): string {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return address;
}

export function classifyAddress(raw: string): AddressClass {
  const address = unmapIpv4(raw.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  const family = isIP(address);
  if (family === 0) return 'reserved';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (METADATA.check(address, type)) return 'metadata';
  if (LOOPBACK.check(address, type)) return 'loopback';
  if (LINK_LOCAL.check(address, type)) return 'link-local';
  if (PRIVATE.check(address, type)) return 'private';
  if (RESERVED.check(address, type)) return 'reserved';
  return 'public';
}

export interface AddressPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: private, loopback and link-local addresses allowed (development, tests). */
  allowPrivate: boolean;
  /** WEBHOOK_ALLOWED_HOSTS: host names (lower case) allowed to resolve to any non-public address. */
  allowedHosts: readonly string[];
}

/** Why a connection to `address` (resolved from `host`) is refused, or undefined when it is allowed. */
export function addressRefusal(policy: AddressPolicy, host: string, address: string): string | undefined {
  const kind = classifyAddress(address);
  if (kind === 'public') return undefined;
  // The metadata service never: not for an allowed host, not with private addresses allowed.
  if (kind !== 'metadata' && policy.allowedHosts.includes(host.toLowerCase().replace(/^\[|\]$/g, ''))) return undefined;
  if (policy.allowPrivate && (kind === 'private' || kind === 'loopback' || kind === 'link-local')) return undefined;
  // The refusal reaches the endpoint's owner (the delivery log): it names neither the address nor
  // its kind, so a shipper cannot map what internal names resolve to.
  return `${host}: not a public address (refused by WEBHOOK_ALLOW_PRIVATE, WEBHOOK_ALLOWED_HOSTS)`;
}
