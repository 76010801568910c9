import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Small IP helpers for rules: the network prefix of an address (for new-term and cardinality
 * on networks) and CIDR lists (for filters and allowlists) on Node's own BlockList.
 */

const V4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** IPv4-mapped IPv6 (`::ffff:203.0.113.7`) is the IPv4 address it wraps. */
export function normalizeIp(ip: string): string {
  const m = V4_MAPPED.exec(ip);
  return m ? m[1]! : ip;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(ip: string): number[] | undefined {
  if (!isIPv6(ip)) return undefined;
  const zoneless = ip.split('%', 1)[0]!;
  const [head, tail] = zoneless.split('::', 2) as [string, string | undefined];
  const parse = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let left = parse(head);
  let right = tail === undefined ? [] : parse(tail);
  // A trailing dotted quad holds the last two groups.
  const last = (right.length ? right : left).at(-1);
  if (last?.includes('.')) {
    const q = last.split('.').map(Number);
    const pair = [((q[0]! << 8) | q[1]!).toString(16), ((q[2]! << 8) | q[3]!).toString(16)];
    if (right.length) right = [...right.slice(0, -1), ...pair];
    else left = [...left.slice(0, -1), ...pair];
  }
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  return groups.length === 8 ? groups.map((g) => parseInt(g, 16)) : undefined;
}

/**
 * The network an address belongs to, as CIDR text: `/v4Bits` for IPv4, `/v6Bits` for IPv6
 * (multiples of 16). Undefined for a missing or malformed address.
 */
export function ipNetwork(ip: string | undefined, v4Bits: number, v6Bits: number): string | undefined {
  if (!ip) return undefined;
  const addr = normalizeIp(ip);
  if (isIPv4(addr)) {
    const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const mask = v4Bits === 0 ? 0 : (0xffffffff << (32 - v4Bits)) >>> 0;
    const net = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${v4Bits}`;
  }
  const groups = ipv6Groups(addr);
  if (!groups) return undefined;
  const keep = Math.floor(v6Bits / 16);
  return `${groups.slice(0, keep).map((g) => g.toString(16)).join(':')}::/${v6Bits}`;
}

/** A compiled set of CIDR blocks. Throws on a malformed block (rule compile time). */
export class CidrSet {
  private readonly list = new BlockList();

  constructor(readonly blocks: readonly string[]) {
    for (const b of blocks) {
      const [addr, bitsText] = b.split('/', 2) as [string, string | undefined];
      const v4 = isIPv4(addr);
      if (!v4 && !isIPv6(addr)) throw new Error(`not an IP network: ${b}`);
      const max = v4 ? 32 : 128;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > max || !/^\d*$/.test(bitsText ?? '')) {
        throw new Error(`bad prefix length in ${b} (0-${max})`);
      }
      this.list.addSubnet(addr, bits, v4 ? 'ipv4' : 'ipv6');
    }
  }

  /** True when the address lies in one of the blocks; false for anything that is not an IP. */
  has(ip: string): boolean {
    const addr = normalizeIp(ip);
    if (isIPv4(addr)) return this.list.check(addr, 'ipv4');
    if (isIPv6(addr)) return this.list.check(addr, 'ipv6');
    return false;
  }
}
