import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { runCli } from '../helpers/cli.js';

const LOGS = 'test/fixtures/logs';
const PEPPER = 'cli-test-pepper-0123456789abcdef';
const TOKEN = 'Q2xpVGVzdFRva2VuLW5ldmVyLWluLWEtbG9nLTAxMjM0NTY';

const events = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('tuskguard parse', () => {
  it('prints one enriched event per nginx-json line, reports rejected lines by file:line, exits 0', async () => {
    const r = await runCli(['parse', '--format', 'nginx-json', `${LOGS}/nginx-json-sample.log`]);
    expect(r.code).toBe(0);
    const out = events(r.stdout);
    expect(out).toHaveLength(5);
    expect(out[0]).toMatchObject({
      'event.dataset': 'nginx-json', 'source.ip': '203.0.113.7', 'http.request.id': '4f1c0e8a9b2d4c6e8f0a1b2c3d4e5f60',
      'mastodon.route': 'GET /api/v1/timelines/home', 'mastodon.required_scopes': ['read', 'read:statuses'],
      'user_agent.name': 'Tusky', 'source.network': '203.0.113.0/24',
    });
    expect(out[3]).toMatchObject({ 'mastodon.server': 'streaming', 'mastodon.route': 'GET /api/v1/streaming/user' });
    expect(out[4]).toMatchObject({ 'url.path': '/about', 'mastodon.unmapped': true });
    expect(r.stderr).toContain(`${LOGS}/nginx-json-sample.log:6: wrong-type: field "status"`);
    expect(r.stderr).toContain(`${LOGS}/nginx-json-sample.log:7: invalid-json`);
    expect(r.stderr).not.toContain('not json at all');
    expect(lastLine(r.stderr)).toBe('parsed 5, rejected 2');
  });

  it('reads every line of the 10k Apache corpus', async () => {
    const r = await runCli(['parse', '--format', 'combined', `${LOGS}/apache-combined-10k.log`]);
    expect(r.code).toBe(0);
    expect(lastLine(r.stderr)).toBe('parsed 10000, rejected 0');
    const out = events(r.stdout);
    expect(out).toHaveLength(10_000);
    expect(out[0]).toMatchObject({ '@timestamp': '2015-05-17T10:05:03.000Z', 'source.ip': '83.149.9.216', 'http.response.body.bytes': 203023 });
    expect(new Set(out.map((e) => e['event.id'])).size).toBe(10_000);
  });

  it('prints a JSON summary and JSON rejections with --output json', async () => {
    const r = await runCli(['parse', '--format', 'mastodon', '--output', 'json', `${LOGS}/mastodon-sample.log`]);
    expect(r.code).toBe(0);
    expect(events(r.stdout)).toHaveLength(6);
    expect(JSON.parse(lastLine(r.stderr))).toEqual({ parsed: 6, rejected: 2, by_reason: { 'not-a-request': 1, 'no-match': 1 } });
    expect(JSON.parse(r.stderr.trim().split('\n')[0] as string)).toMatchObject({ file: `${LOGS}/mastodon-sample.log`, line: 7, reason: 'not-a-request' });
  });

  it('reads standard input with -, fingerprints query tokens with the pepper, and never prints the raw token', async () => {
    const input = [
      `203.0.113.9 - - [02/Nov/2026:14:03:05 +0000] "GET /api/v1/streaming/user?access_token=${TOKEN} HTTP/1.1" 200 5 "-" "curl/8"`,
      `garbage with access_token=${TOKEN}`,
      '',
    ].join('\n');
    const r = await runCli(['parse', '--format', 'combined', '-'], { input, env: { TUSKGUARD_PEPPER: PEPPER } });
    expect(r.code).toBe(0);
    const [e] = events(r.stdout);
    expect(e).toMatchObject({ 'url.query': 'access_token=[REDACTED]', 'tuskguard.fingerprint': fingerprint(PEPPER, TOKEN), 'log.file.path': 'stdin' });
    expect(r.stderr).toContain('<stdin>:2: no-match');
    expect(lastLine(r.stderr)).toBe('parsed 1, rejected 1');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('redacts query tokens without a pepper (no fingerprint then)', async () => {
    const input = `203.0.113.9 - - [02/Nov/2026:14:03:05 +0000] "GET /x?access_token=${TOKEN} HTTP/1.1" 200 5 "-" "curl/8"\n`;
    const r = await runCli(['parse', '--format', 'combined', '-'], { input, env: { TUSKGUARD_PEPPER: '' } });
    const [e] = events(r.stdout);
    expect(e?.['url.query']).toBe('access_token=[REDACTED]');
    expect(e).not.toHaveProperty(['tuskguard.fingerprint']);
    expect(r.stdout).not.toContain(TOKEN);
  });

  it.each([
    ['an unknown format', ['parse', '--format', 'xml', `${LOGS}/combined-edge.log`], /xml/],
    ['a missing file', ['parse', '--format', 'combined', `${LOGS}/does-not-exist.log`], /no such file: .*does-not-exist\.log/],
    ['a directory', ['parse', '--format', 'combined', LOGS], /not a regular file/],
    ['no format', ['parse', `${LOGS}/combined-edge.log`], /--format/],
  ])('exits 2 on a usage error: %s', async (_name, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('has --help', async () => {
    const r = await runCli(['parse', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--format');
    expect(r.stdout).toContain('--output');
  });
});
