import { BlockList, isIP } from 'node:net';

/**
 * Where this transmitter may send SETs (RFC 8935 push). Receivers choose the URL, so an unchecked one would let
 * any `ssf.manage` client make our functions call the instance metadata service or anything else inside the VPC
 * (server-side request forgery). The rules apply to the URL when a stream is created or changed, and again to
 * every address its host resolves to at delivery time, so a DNS record changed later cannot slip past them.
 */
export interface ReceiverAddressPolicy {
  /** Local development only: `http` and loopback addresses are allowed (SSF_ALLOW_LOOPBACK_RECEIVERS). */
  readonly allowLoopback: boolean;
}

/** Never reachable from a receiver URL, whatever the configuration (metadata services, link-local). */
const alwaysBlocked = new BlockList();
alwaysBlocked.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, EC2/ECS metadata (169.254.169.254, .170.2)
alwaysBlocked.addSubnet('fe80::', 10, 'ipv6'); // link-local
alwaysBlocked.addAddress('fd00:ec2::254', 'ipv6'); // EC2 metadata over IPv6
alwaysBlocked.addSubnet('0.0.0.0', 8, 'ipv4');
alwaysBlocked.addAddress('::', 'ipv6');

/** Private, shared, multicast and reserved ranges: inside our network or nobody's. */
const privateRanges = new BlockList();
for (const [network, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['192.0.0.0', 24], // IETF protocol assignments
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv4');
}
privateRanges.addSubnet('fc00::', 7, 'ipv6'); // unique local
privateRanges.addSubnet('ff00::', 8, 'ipv6'); // multicast
privateRanges.addSubnet('64:ff9b::', 96, 'ipv6'); // NAT64 (would reach any IPv4 address)
privateRanges.addSubnet('2002::', 16, 'ipv6'); // 6to4 (same)

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1]) return { address: mapped[1], family: 'ipv4' };
  return { address: bare, family: isIP(bare) === 6 ? 'ipv6' : 'ipv4' };
}

/** Why an address may not receive SETs, or undefined when it may. */
export function forbiddenAddressReason(address: string, policy: ReceiverAddressPolicy): string | undefined {
  const { address: ip, family } = normalise(address);
  if (isIP(ip) === 0) return 'is not an IP address';
  if (alwaysBlocked.check(ip, family)) return 'is a link-local or metadata address';
  if (loopback.check(ip, family)) return policy.allowLoopback ? undefined : 'is a loopback address';
  if (privateRanges.check(ip, family)) return 'is in a private or reserved range';
  return undefined;
}

/**
 * Checks a push endpoint URL before any lookup: https only (http only for loopback hosts when allowed), no
 * credentials, and an IP literal host must itself be allowed. Returns why it is refused, or undefined.
 */
export function endpointUrlProblem(endpointUrl: string, policy: ReceiverAddressPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(endpointUrl);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.hash) return 'must not contain a fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host) !== 0;
  const loopbackHost =
    host === 'localhost' || (literal && loopback.check(normalise(host).address, normalise(host).family));
  if (url.protocol === 'http:') {
    if (!(policy.allowLoopback && loopbackHost)) return 'must use https';
  } else if (url.protocol !== 'https:') {
    return 'must use https';
  }
  if (literal) {
    const reason = forbiddenAddressReason(host, policy);
    if (reason) return `host ${reason}`;
  }
  return undefined;
}
