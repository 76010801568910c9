#!/usr/bin/env bash
# Import tuskguard's Kibana saved objects (data views, saved searches, Lens visualizations and
# the Key usage / Findings / Actions & audit dashboards) through Kibana's saved objects API.
# See dashboards/README.md. Exit codes: 0 imported, 1 Kibana refused or was unreachable,
# 2 usage error.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/dashboards-import.sh [--file PATH] [--print] [--help]

Imports dashboards/tuskguard.ndjson into Kibana (8.14 or later 8.x), overwriting objects
with the same ids, so running it again after an upgrade updates the dashboards in place.

  --file PATH   saved objects to import (default: dashboards/tuskguard.ndjson)
  --print       write the NDJSON that would be imported (after the prefix change) to
                stdout and exit without contacting Kibana

Environment:
  KIBANA_URL              default http://localhost:5601
  KIBANA_SPACE            import into this Kibana space instead of the default one
  KIBANA_API_KEY          Kibana/Elasticsearch API key (the encoded form), or
  KIBANA_USERNAME, KIBANA_PASSWORD   basic authentication
  KIBANA_CA_FILE          PEM CA bundle for an https Kibana
  KIBANA_OVERWRITE        true (default) or false: with false, objects that already exist
                          are reported as conflicts and left alone
  TUSKGUARD_INDEX_PREFIX  the store's elasticsearch.index_prefix (default tuskguard);
                          the data views then read <prefix>-events-*, -findings-*, -actions-*

Credentials are handed to curl on stdin, never on its command line.
EOF
}

die() {
  echo "dashboards-import: $1" >&2
  if [[ -n ${2:-} ]]; then echo "  $2" >&2; fi
  exit "${3:-1}"
}

here=$(cd "$(dirname "$0")/.." && pwd)
file="$here/dashboards/tuskguard.ndjson"
print=false
while [[ $# -gt 0 ]]; do
  case $1 in
    --file) [[ $# -ge 2 ]] || die "--file needs a path" "see --help" 2; file=$2; shift 2 ;;
    --print) print=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1" "see --help" 2 ;;
  esac
done

prefix=${TUSKGUARD_INDEX_PREFIX:-tuskguard}
# The same rule as the config schema's index_prefix; it also keeps the sed below literal.
[[ $prefix =~ ^[a-z0-9][a-z0-9_-]*$ ]] ||
  die "TUSKGUARD_INDEX_PREFIX '$prefix' is not a valid index prefix" "use lower-case letters, digits, '_' and '-' (the value of elasticsearch.index_prefix in your config)" 2
overwrite=${KIBANA_OVERWRITE:-true}
[[ $overwrite == true || $overwrite == false ]] || die "KIBANA_OVERWRITE must be true or false" "" 2
[[ -r $file ]] || die "cannot read $file" "pass --file with the path of tuskguard.ndjson" 2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ndjson="$work/tuskguard.ndjson"
# Only the three data view titles name indices; every other object refers to them by id.
sed -E "s/\"title\":\"tuskguard-(events|findings|actions)-\\*\"/\"title\":\"${prefix}-\\1-*\"/" "$file" >"$ndjson"
views=$(grep -cE "\"title\":\"${prefix}-(events|findings|actions)-\\*\"" "$ndjson" || true)
[[ $views == 3 ]] || die "expected 3 data views over tuskguard-*-* in $file, found $views" "rebuild the file with: npx tsx dashboards/build.ts" 2

if $print; then
  cat "$ndjson"
  exit 0
fi

base=${KIBANA_URL:-http://localhost:5601}
base=${base%/}
shown=$(sed -E 's#//[^/@]*@#//#' <<<"$base") # never echo credentials embedded in the URL
space_path=""
if [[ -n ${KIBANA_SPACE:-} ]]; then
  [[ $KIBANA_SPACE =~ ^[a-z0-9_-]+$ ]] || die "KIBANA_SPACE '$KIBANA_SPACE' is not a Kibana space id" "a space id has lower-case letters, digits, '_' and '-'" 2
  space_path="/s/${KIBANA_SPACE}"
fi
endpoint="$base$space_path/api/saved_objects/_import?overwrite=$overwrite"

# curl config on stdin: quoted values with backslash and double quote escaped.
quote() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$v"; }
curl_config() {
  if [[ -n ${KIBANA_API_KEY:-} ]]; then
    printf 'header = %s\n' "$(quote "Authorization: ApiKey $KIBANA_API_KEY")"
  elif [[ -n ${KIBANA_USERNAME:-} ]]; then
    printf 'user = %s\n' "$(quote "$KIBANA_USERNAME:${KIBANA_PASSWORD:-}")"
  fi
}

ca=()
if [[ -n ${KIBANA_CA_FILE:-} ]]; then ca=(--cacert "$KIBANA_CA_FILE"); fi
body="$work/response.json"
status=$(curl_config | curl --silent --show-error --config - "${ca[@]}" \
  --max-time 120 -o "$body" -w '%{http_code}' \
  -X POST "$endpoint" -H 'kbn-xsrf: true' --form "file=@$ndjson;type=application/ndjson") ||
  die "could not reach Kibana at $shown" "check KIBANA_URL (and KIBANA_CA_FILE for https); Kibana must be running and reachable from here"

case $status in
  200) ;;
  401|403) die "Kibana at $shown refused the credentials (HTTP $status): $(head -c 500 "$body")" "set KIBANA_API_KEY, or KIBANA_USERNAME and KIBANA_PASSWORD, for a user allowed to manage saved objects" ;;
  404) die "no saved objects API at $shown$space_path (HTTP 404)" "check KIBANA_URL and that the space '${KIBANA_SPACE:-default}' exists" ;;
  *) die "Kibana at $shown answered HTTP $status: $(head -c 500 "$body")" "see Kibana's log; the file targets Kibana 8.14 or later 8.x" ;;
esac

if ! grep -q '"success":true' "$body"; then
  die "Kibana did not import everything: $(head -c 2000 "$body")" "with KIBANA_OVERWRITE=false, existing objects are conflicts; rerun with KIBANA_OVERWRITE=true to replace them"
fi
count=$(sed -nE 's/.*"successCount":([0-9]+).*/\1/p' "$body")
echo "imported ${count:-?} saved objects into $shown${space_path} (data views over ${prefix}-events-*, ${prefix}-findings-*, ${prefix}-actions-*)"
