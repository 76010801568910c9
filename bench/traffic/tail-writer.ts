/**
 * The appender of bench/detect-latency.ts, as the source of a worker thread (`eval: true`, so
 * it needs no TypeScript loader): writes nginx-json lines to `file` at `rate` per second in
 * 10 ms slices, and every `markerEveryMs` a marker line on its own write(), posting
 * `{ marker, at }` (performance.timeOrigin + now() right after the write returned); at the end
 * `{ done: lines }`. Lines carry the wall-clock time, as nginx would write them.
 *
 * workerData: { file, rate, seconds, markerEveryMs, benign: string[] (fingerprints), markers: string[] }
 */
export const WRITER = String.raw`
const { workerData, parentPort } = require('node:worker_threads');
const { openSync, writeSync, closeSync } = require('node:fs');
const { file, rate, seconds, markerEveryMs, benign, markers } = workerData;
const ROUTES = [
  ['GET', '/api/v1/timelines/home?limit=40'], ['GET', '/api/v1/notifications'], ['GET', '/api/v1/statuses/113000000000000001/context'],
  ['GET', '/api/v1/accounts/verify_credentials'], ['POST', '/api/v1/statuses'], ['POST', '/api/v1/statuses/113000000000000002/favourite'],
  ['GET', '/api/v2/search?q=news'], ['GET', '/api/v1/accounts/42/statuses?limit=20'],
];
const UAS = ['Tusky/25.2 Android/14', 'Ivory/2.4 (iOS 18.1)', 'feedreader/3.1', 'python-requests/2.31.0', 'rssbot/1.4'];
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
let n = 0;
function line(fp, status, route) {
  const t = Date.now();
  const k = fp ? parseInt(fp.slice(-4), 16) : Math.floor(rnd() * 65536);
  const [method, uri] = route;
  n++;
  return JSON.stringify({
    ts: new Date(t).toISOString().slice(0, 19) + '+00:00', msec: t / 1000, ip: '198.18.' + (k % 250) + '.' + (10 + (k % 200)), xff: '',
    rid: n.toString(16).padStart(32, '0'), host: 'social.example', method, uri, status, bytes: 1000 + (n % 9000), rt: 0.03,
    ua: UAS[k % UAS.length], fp,
  }) + '\n';
}
function background() {
  const x = rnd();
  const fp = x < 0.05 ? '' : benign[Math.floor(rnd() * benign.length)];
  const status = x > 0.98 ? 404 : x > 0.97 ? 429 : 200;
  return line(fp, status, ROUTES[Math.floor(rnd() * ROUTES.length)]);
}
const fd = openSync(file, 'a');
const started = performance.now();
let written = 0;
let marker = 0;
function tick() {
  const elapsed = performance.now() - started;
  const due = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor(seconds * rate));
  let chunk = '';
  for (; written < due; written++) chunk += background();
  if (chunk) writeSync(fd, chunk);
  if (elapsed >= marker * markerEveryMs && marker < markers.length && elapsed < seconds * 1000) {
    writeSync(fd, line(markers[marker], 200, ROUTES[0]));
    parentPort.postMessage({ marker, at: performance.timeOrigin + performance.now() });
    marker++;
    written++;
  }
  if (elapsed >= seconds * 1000) {
    closeSync(fd);
    parentPort.postMessage({ done: written });
    return;
  }
  setTimeout(tick, 10);
}
tick();
`;
