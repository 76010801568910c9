import { describe, expect, it } from 'vitest';
import { userAgentName } from '../../../src/ingest/enrich/user-agent.js';

describe('userAgentName', () => {
  it.each([
    ['Tusky/25.2 Android/14', 'Tusky'],
    ['Ivory/2.0 (iPhone; iOS 18.1)', 'Ivory'],
    ['curl/8.5.0', 'curl'],
    ['python-requests/2.31.0', 'python-requests'],
    ['http.rb/5.1.1 (Mastodon/4.3.0; +https://social.example/)', 'http.rb'],
    ['Tiny Tiny RSS/1.11 (http://tt-rss.org/)', 'Tiny Tiny RSS'],
    ['Ruby', 'Ruby'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36', 'Chrome'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0', 'Edge'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', 'Safari'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0 Mobile/15E148 Safari/604.1', 'Chrome'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Googlebot'],
    ['Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0)', 'IE'],
    ['Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko', 'IE'],
    ['Mozilla/4.0', 'Mozilla'],
    ['Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)', 'Sogou web spider'],
    ['MyApp 2.1.0', 'MyApp'],
  ])('%s → %s', (ua, name) => expect(userAgentName(ua)).toBe(name));

  it.each(['', '-', '   ', '/1.0'])('%j has no name', (ua) => expect(userAgentName(ua)).toBeNull());

  it('caps the name of a 10 kB hostile user agent', () => {
    const name = userAgentName('a'.repeat(10_000) + ' 1'.repeat(5_000));
    expect(name?.length).toBeLessThanOrEqual(64);
  }, 1_000);
});
