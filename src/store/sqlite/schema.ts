/**
 * Tables of the embedded event store, as ordered migrations (applied with store/control.ts
 * `migrate`). Each table keeps the whole document as JSON in `doc` — what a search returns —
 * plus the few columns queries filter, sort and group on, each with an index that ends in the
 * sort key so `ORDER BY ts, id` never needs a temporary sort.
 *
 * `ts` is epoch milliseconds: ISO strings of different shapes (`Z` vs `+00:00`, with or without
 * milliseconds) would not compare correctly as text.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE events (
     id          TEXT PRIMARY KEY,
     ts          INTEGER NOT NULL,
     fingerprint TEXT,
     key_id      TEXT,
     source_ip   TEXT,
     request_id  TEXT,
     route       TEXT,
     scopes      TEXT,
     doc         TEXT NOT NULL
   );
   CREATE INDEX events_ts ON events (ts, id);
   CREATE INDEX events_fingerprint ON events (fingerprint, ts, id) WHERE fingerprint IS NOT NULL;
   CREATE INDEX events_key ON events (key_id, ts, id) WHERE key_id IS NOT NULL;
   CREATE INDEX events_source_ip ON events (source_ip, ts, id) WHERE source_ip IS NOT NULL;
   CREATE INDEX events_request ON events (request_id) WHERE request_id IS NOT NULL;

   CREATE TABLE findings (
     id          TEXT PRIMARY KEY,
     ts          INTEGER NOT NULL,
     rule        TEXT NOT NULL,
     key_id      TEXT,
     fingerprint TEXT,
     doc         TEXT NOT NULL
   );
   CREATE INDEX findings_ts ON findings (ts, id);
   CREATE INDEX findings_rule ON findings (rule, ts, id);
   CREATE INDEX findings_key ON findings (key_id, ts, id) WHERE key_id IS NOT NULL;
   CREATE INDEX findings_fingerprint ON findings (fingerprint, ts, id) WHERE fingerprint IS NOT NULL;

   CREATE TABLE actions (
     id   TEXT PRIMARY KEY,
     ts   INTEGER NOT NULL,
     doc  TEXT NOT NULL
   );
   CREATE INDEX actions_ts ON actions (ts, id);`,
];
