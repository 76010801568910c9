/**
 * `user_agent.name`: the client family without its version, so rules tolerate upgrades
 * ("Tusky/25.2 Android/14" → "Tusky", a Chrome UA → "Chrome").
 *
 * A small function rather than a UA library: tuskguard needs only the family, on the hot path,
 * and the libraries that classify thousands of devices cost tens of microseconds per string
 * (ua-parser-js 2.x is also AGPL). Rules, in order:
 *
 * 1. `Mozilla/… (compatible; Name/1.0; …)` → the name in the parenthesis (crawlers, old MSIE);
 * 2. other `Mozilla/…` strings → the browser by its distinguishing token, most specific first
 *    (Edge, Opera, Samsung Internet, Firefox, Chrome, Safari, IE), else `Mozilla`;
 * 3. anything else → the first product name (up to `/`, `(` or `;`): `Tusky`, `curl`,
 *    `Ivory`, `python-requests`, `http.rb`.
 *
 * Results are memoised: a busy instance sees a few thousand distinct user agents.
 */

const BROWSERS: ReadonlyArray<readonly [token: string, family: string]> = [
  ['Edg/', 'Edge'],
  ['EdgA/', 'Edge'],
  ['EdgiOS/', 'Edge'],
  ['OPR/', 'Opera'],
  ['SamsungBrowser/', 'Samsung Internet'],
  ['Firefox/', 'Firefox'],
  ['FxiOS/', 'Firefox'],
  ['CriOS/', 'Chrome'],
  ['Chrome/', 'Chrome'],
  ['Version/', 'Safari'],
  ['Trident/', 'IE'],
  ['Safari/', 'Safari'],
];

const MAX_NAME = 64;
const CACHE_LIMIT = 10_000;
const cache = new Map<string, string | null>();

export function userAgentName(ua: string): string | null {
  const hit = cache.get(ua);
  if (hit !== undefined) return hit;
  const name = classify(ua);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(ua, name);
  return name;
}

function classify(ua: string): string | null {
  const text = ua.trim();
  if (text === '' || text === '-') return null;
  if (!text.startsWith('Mozilla/')) return productName(text);
  const compatible = text.indexOf('(compatible; ');
  if (compatible !== -1) {
    const name = productName(text.slice(compatible + 13).replace(/^MSIE\b.*/, 'IE'));
    if (name !== null) return name;
  }
  for (const [token, family] of BROWSERS) if (text.includes(token)) return family;
  return 'Mozilla';
}

/** The first product name: text up to `/`, `(`, `;` or `)`, trimmed, with a trailing version number dropped. */
function productName(text: string): string | null {
  let end = text.length;
  for (const stop of ['/', '(', ';', ')']) {
    const i = text.indexOf(stop);
    if (i !== -1 && i < end) end = i;
  }
  const name = text.slice(0, Math.min(end, MAX_NAME)).replace(/\s+v?\d[\w.]*$/, '').trim();
  return name === '' ? null : name;
}
