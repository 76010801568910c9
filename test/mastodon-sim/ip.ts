import { isIPv4, isIPv6 } from 'node:net';

/**
 * Just enough of Ruby's IPAddr for the simulator: parse an address or CIDR, mask it (IpBlock
 * stores the network, `203.0.113.5/24` → `203.0.113.0/24`), test containment, and group IPv6
 * clients by /64 the way Rack::Attack's `throttleable_remote_ip` does.
 */

export interface Cidr {
  readonly version: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}

const V4_MAPPED = /^::ffff:(?<v4>\d+\.\d+\.\d+\.\d+)$/i;

/** Node reports IPv4 peers on a dual-stack socket as `::ffff:a.b.c.d`; Rails sees `a.b.c.d`. */
export function normaliseAddress(ip: string): string {
  return V4_MAPPED.exec(ip)?.groups?.v4 ?? ip;
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBig(ip: string): bigint {
  let text = ip;
  const tail = /(?<v4>\d+\.\d+\.\d+\.\d+)$/.exec(text)?.groups?.v4;
  if (tail) {
    const n = v4ToBig(tail);
    text = `${text.slice(0, -tail.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].reduce((acc, h) => (acc << 16n) | BigInt(parseInt(h, 16)), 0n);
}

function bits(version: 4 | 6): number {
  return version === 4 ? 32 : 128;
}

function mask(value: bigint, prefix: number, version: 4 | 6): bigint {
  const total = bits(version);
  const hostBits = BigInt(total - prefix);
  return (value >> hostBits) << hostBits;
}

/** Parse `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or IPv6 CIDR; null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const [addrRaw = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const addr = normaliseAddress(addrRaw);
  const version = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : null;
  if (version === null) return null;
  const prefix = prefixText === undefined ? bits(version) : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? '0') || prefix > bits(version)) return null;
  const value = version === 4 ? v4ToBig(addr) : v6ToBig(addr);
  return { version, network: mask(value, prefix, version), prefix };
}

function formatV6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // Compress the longest run of zero groups (length >= 2), as IPAddr#to_s does.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatAddress(version: 4 | 6, value: bigint): string {
  if (version === 6) return formatV6(value);
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

/** `network/prefix`, as Mastodon's IpBlock serializer prints it. */
export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.version, cidr.network)}/${cidr.prefix}`;
}

export function cidrContains(block: Cidr, ip: string): boolean {
  const addr = parseCidr(ip);
  if (!addr || addr.version !== block.version) return false;
  return mask(addr.network, block.prefix, block.version) === block.network;
}

/** Rack::Attack groups IPv6 clients by /64 so one host cannot rotate through its prefix. */
export function throttleableIp(ip: string): string {
  const addr = parseCidr(ip);
  if (!addr || addr.version === 4) return normaliseAddress(ip);
  return formatAddress(6, mask(addr.network, 64, 6));
}
