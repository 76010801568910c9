import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Reader, Response } from 'maxmind';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../../src/core/event.js';
import { createEnricher, type Enricher } from '../../../src/ingest/enrich/index.js';
import { addAsn, addGeo } from '../../../src/ingest/enrich/geo.js';
import { serverOf } from '../../../src/ingest/enrich/route.js';

const require = createRequire(import.meta.url);
const GEO_DB = join(
  dirname(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/package.json')),
  'geo-whois-asn-country.mmdb',
);
const FP_KNOWN = '9b1f3e0c2a7d4b6e8f0a1c3e5d7b9f21';
const FP_OTHER = '0123456789abcdef0123456789abcdef';

function event(fields: Partial<Event>): Event {
  return { '@timestamp': '2026-11-02T14:03:05.000Z', 'event.id': 'x', 'event.dataset': 'nginx-json', ...fields };
}

describe('createEnricher', () => {
  let enricher: Enricher;
  beforeAll(async () => {
    enricher = await createEnricher({
      geoMmdb: GEO_DB,
      keyLookup: { keyIdFor: (fp) => (fp === FP_KNOWN ? 'bot-main' : null) },
    });
  });

  it('adds key id, route, scopes, network, user-agent family and country to a proxy event', () => {
    const e = enricher.enrich(event({
      'source.ip': '8.8.8.8', 'http.request.method': 'GET', 'url.path': '/api/v1/timelines/home',
      'http.response.status_code': 200, 'user_agent.original': 'Tusky/25.2 Android/14', 'tuskguard.fingerprint': FP_KNOWN,
    }));
    expect(e).toMatchObject({
      'tuskguard.key_id': 'bot-main',
      'mastodon.route': 'GET /api/v1/timelines/home',
      'mastodon.required_scopes': ['read', 'read:statuses'],
      'mastodon.token': 'required',
      'mastodon.server': 'rails',
      'mastodon.unmapped': false,
      'source.network': '8.8.8.0/24',
      'user_agent.name': 'Tusky',
      'source.geo.country_iso_code': 'US',
    });
  });

  it('keeps an unknown fingerprint with a null key id', () => {
    const e = enricher.enrich(event({ 'tuskguard.fingerprint': FP_OTHER }));
    expect(e['tuskguard.fingerprint']).toBe(FP_OTHER);
    expect(e['tuskguard.key_id']).toBeNull();
  });

  it('marks a request that matches no route as unmapped', () => {
    const e = enricher.enrich(event({ 'http.request.method': 'GET', 'url.path': '/about' }));
    expect(e['mastodon.unmapped']).toBe(true);
    expect(e['mastodon.route']).toBeUndefined();
  });

  it('leaves events without a request alone (no route fields at all)', () => {
    const e = enricher.enrich(event({ 'source.ip': '10.1.2.3' }));
    expect(e).not.toHaveProperty(['mastodon.unmapped']);
    expect(e['source.network']).toBe('10.1.2.0/24');
    expect(e['source.geo.country_iso_code']).toBeUndefined();
  });

  it('uses the logged controller/action of a joined event to pick the entry', () => {
    const e = enricher.enrich(event({
      'event.dataset': 'joined', 'http.request.method': 'GET', 'url.path': '/api/v1/accounts/verify_credentials',
      'mastodon.controller': 'Api::V1::AccountsController', 'mastodon.action': 'show',
    }));
    expect(e['mastodon.route']).toBe('GET /api/v1/accounts/:id');
  });

  it('matches streaming traffic against the streaming server’s scopes', () => {
    const e = enricher.enrich(event({
      'http.request.method': 'GET', 'url.path': '/api/v1/streaming/user', 'http.response.status_code': 101,
      'url.domain': 'streaming.social.example',
    }));
    expect(e).toMatchObject({ 'mastodon.server': 'streaming', 'mastodon.route': 'GET /api/v1/streaming/user', 'mastodon.required_scopes': ['read', 'read:statuses'] });
  });

  it('does not set key ids at all without a key lookup', async () => {
    const plain = await createEnricher();
    expect(plain.enrich(event({ 'tuskguard.fingerprint': FP_KNOWN }))).not.toHaveProperty(['tuskguard.key_id']);
  });

  it('fails at start-up with a clear error for a missing or corrupt mmdb, or a bad scopes table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-enrich-'));
    await expect(createEnricher({ geoMmdb: join(dir, 'nope.mmdb') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID', message: expect.stringMatching(/enrich\.geo_mmdb: mmdb file not found: .*nope\.mmdb/),
    });
    const corrupt = join(dir, 'corrupt.mmdb');
    writeFileSync(corrupt, Buffer.alloc(4096, 7));
    await expect(createEnricher({ asnMmdb: corrupt })).rejects.toMatchObject({
      code: 'CONFIG_INVALID', message: expect.stringMatching(/enrich\.asn_mmdb: .*corrupt\.mmdb is not a readable mmdb database/),
    });
    const scopes = join(dir, 'scopes.json');
    writeFileSync(scopes, '{"not":"a list"}');
    await expect(createEnricher({ endpointScopesFile: scopes })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('geo and ASN record layouts', () => {
  const stub = (record: unknown) => ({ get: () => record }) as unknown as Reader<Response>;

  it('reads MaxMind GeoIP2 City records', () => {
    const e = event({});
    addGeo(e, stub({ country: { iso_code: 'DE' }, city: { names: { en: 'Berlin' } }, location: { latitude: 52.5, longitude: 13.4 } }), '1.2.3.4');
    expect(e).toMatchObject({ 'source.geo.country_iso_code': 'DE', 'source.geo.city_name': 'Berlin', 'source.geo.location': { lat: 52.5, lon: 13.4 } });
  });

  it('reads flat ip-location-db records', () => {
    const e = event({});
    addGeo(e, stub({ country_code: 'FR', city: 'Paris', latitude: 48.9, longitude: 2.35 }), '1.2.3.4');
    expect(e).toMatchObject({ 'source.geo.country_iso_code': 'FR', 'source.geo.city_name': 'Paris', 'source.geo.location': { lat: 48.9, lon: 2.35 } });
  });

  it('reads ASN records and ignores lookups that fail', () => {
    const e = event({});
    addAsn(e, stub({ autonomous_system_number: 64496, autonomous_system_organization: 'Example Net' }), '1.2.3.4');
    expect(e).toMatchObject({ 'source.as.number': 64496, 'source.as.organization.name': 'Example Net' });
    const throwing = { get: () => { throw new Error('bad ip'); } } as unknown as Reader<Response>;
    const f = event({});
    addAsn(f, throwing, 'x');
    expect(f).not.toHaveProperty(['source.as.number']);
  });
});

describe('serverOf', () => {
  it.each([
    [{ 'url.path': '/api/v1/timelines/home' }, 'rails'],
    [{ 'url.path': '/api/v1/streaming/user' }, 'streaming'],
    [{ 'url.path': '/api/v1/streaming' }, 'streaming'],
    [{ 'url.path': '/api/v1/streamingfoo' }, 'rails'],
    [{ 'url.path': '/x', 'http.response.status_code': 101 }, 'streaming'],
    [{ 'url.path': '/x', 'url.domain': 'streaming.social.example' }, 'streaming'],
    [{ 'url.path': '/api/v1/streaming', 'mastodon.controller': 'Api::V1::StreamingController' }, 'rails'],
  ] as const)('%j → %s', (fields, server) => expect(serverOf(event(fields))).toBe(server));
});
