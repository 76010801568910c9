import { existsSync } from 'node:fs';
import maxmind, { type Reader, type Response } from 'maxmind';
import { TuskguardError } from '../../core/errors.js';
import type { Event } from '../../core/event.js';

/**
 * Geo and ASN lookups from MaxMind-format (mmdb) files, read with the maintained `maxmind`
 * reader. Both record layouts in common use are understood:
 * - MaxMind GeoIP2/GeoLite2: `country.iso_code`, `city.names.en`, `location.latitude/longitude`,
 *   `autonomous_system_number`, `autonomous_system_organization`;
 * - the flat @ip-location-db files: `country_code`, `city`, `latitude`, `longitude`, and the
 *   same two ASN keys.
 */

type Flat = Record<string, unknown>;

/**
 * Open an mmdb at start-up. A missing, unreadable or corrupt file is a CONFIG_INVALID error
 * naming the setting and the file, so `serve` fails fast instead of running without geo data.
 */
export async function openMmdb(file: string, setting: string): Promise<Reader<Response>> {
  const hint = `fix ${setting} in the config (a MaxMind-format .mmdb file), or remove it to run without`;
  if (!existsSync(file)) {
    throw new TuskguardError('CONFIG_INVALID', `${setting}: mmdb file not found: ${file}`, { hint, details: { file } });
  }
  try {
    return await maxmind.open<Response>(file, { watchForUpdates: false });
  } catch (e) {
    throw new TuskguardError('CONFIG_INVALID', `${setting}: ${file} is not a readable mmdb database: ${(e as Error).message}`, {
      hint,
      details: { file },
      cause: e,
    });
  }
}

function lookup(reader: Reader<Response>, ip: string): Flat | null {
  try {
    return reader.get(ip) as Flat | null;
  } catch {
    return null; // not an address the reader accepts; the event keeps its other fields
  }
}

function obj(x: unknown): Flat | undefined {
  return typeof x === 'object' && x !== null ? (x as Flat) : undefined;
}

/** Adds `source.geo.*` for `ip` when the database knows it. */
export function addGeo(event: Event, reader: Reader<Response>, ip: string): void {
  const r = lookup(reader, ip);
  if (!r) return;
  const country = obj(r.country)?.iso_code ?? r.country_code;
  if (typeof country === 'string') event['source.geo.country_iso_code'] = country;
  const city = obj(obj(r.city)?.names)?.en ?? r.city;
  if (typeof city === 'string' && city !== '') event['source.geo.city_name'] = city;
  const loc = obj(r.location);
  const lat = loc?.latitude ?? r.latitude;
  const lon = loc?.longitude ?? r.longitude;
  if (typeof lat === 'number' && typeof lon === 'number') event['source.geo.location'] = { lat, lon };
}

/** Adds `source.as.*` for `ip` when the database knows it. */
export function addAsn(event: Event, reader: Reader<Response>, ip: string): void {
  const r = lookup(reader, ip);
  if (!r) return;
  const num = r.autonomous_system_number;
  if (typeof num === 'number') event['source.as.number'] = num;
  const org = r.autonomous_system_organization;
  if (typeof org === 'string' && org !== '') event['source.as.organization.name'] = org;
}
