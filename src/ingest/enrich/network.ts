import { isIPv4, isIPv6 } from 'node:net';

/**
 * The network a client address belongs to, for grouping and new-term rules: /24 for IPv4 and
 * /48 for IPv6 (a site's usual allocation), in canonical (RFC 5952) CIDR text. IPv4-mapped IPv6 addresses
 * (`::ffff:203.0.113.7`, as dual-stack sockets report them) count as IPv4. Null when the text is
 * not an address.
 */
export function sourceNetwork(ip: string): string | null {
  if (isIPv4(ip)) return ipv4Network(ip);
  const bare = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  if (!isIPv6(bare)) return null;
  const mapped = /^::ffff:(?<v4>\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare)?.groups?.v4;
  if (mapped !== undefined) return ipv4Network(mapped);
  const head = expandIPv6(bare).slice(0, 3);
  // RFC 5952 text: the zero groups at the end of the prefix join the `::` run.
  while (head[head.length - 1] === '0') head.pop();
  return `${head.join(':')}::/48`;
}

function ipv4Network(ip: string): string {
  return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
}

/** Eight hextets without leading zeros; the input is a valid IPv6 address (checked above). */
function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (`64:ff9b::203.0.113.7`) is two hextets.
  const v4 = /(?<a>\d+)\.(?<b>\d+)\.(?<c>\d+)\.(?<d>\d+)$/.exec(text)?.groups;
  if (v4) {
    const hi = ((Number(v4.a) << 8) | Number(v4.b)).toString(16);
    const lo = ((Number(v4.c) << 8) | Number(v4.d)).toString(16);
    text = `${text.slice(0, text.lastIndexOf(':') + 1)}${hi}:${lo}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((h) => h.replace(/^0+(?=.)/, ''));
}
