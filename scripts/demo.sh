#!/usr/bin/env bash
# The key-custody tour of issue 3, end to end against the Mastodon simulator, on a throwaway
# TUSKGUARD_HOME: import keys, list them, review their privileges from traffic, revoke one
# (401 confirmed), rotate an app token, and scan a repository that leaked the new token.
#
#   bash scripts/demo.sh        # ends with "demo: all steps passed"; exit 1 if a step fails
#
# Self-contained and repeatable: a new temp dir, a random pepper and master key, and a
# simulator on a free loopback port on every run; the simulator is stopped and the temp dir
# removed on any exit (DEMO_KEEP=1 keeps the dir). Needs bash, curl, jq, openssl, git, node.
# The CLI runs from source through tsx (what `npx tsx src/cli/index.ts` does, without npx's
# start-up): no build needed, never a stale dist/, and the simulator is TypeScript under test/.
# DEMO_SECRETS_FILE=PATH (for test/scripts/demo.test.ts) appends every secret the demo handles
# to PATH, so the test can prove that none of them appears in the demo's output.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for tool in curl jq openssl git node; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is required (install it and rerun)" >&2; exit 2; }
done
TSX=$(cd "$ROOT" && node -p 'require("node:url").pathToFileURL(require.resolve("tsx")).href' 2>/dev/null) ||
  { echo "demo: tsx not found; run npm ci in $ROOT first" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tuskguard-demo.XXXXXX")
SIM_PID=''
cleanup() {
  local code=$?
  if [[ -n $SIM_PID ]] && kill -0 "$SIM_PID" 2>/dev/null; then
    kill -TERM "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  if [[ ${DEMO_KEEP:-0} == 1 ]]; then echo "demo: kept $WORK"; else rm -rf "$WORK"; fi
  ((code == 0)) || echo "demo: FAILED (exit $code)" >&2
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Nothing from the caller's tuskguard setup may leak in: this demo has its own home and secrets.
unset TUSKGUARD_PEPPER_FILE TUSKGUARD_MASTER_KEY_FILE TUSKGUARD_NEW_MASTER_KEY
export TUSKGUARD_HOME=$WORK/home NODE_NO_WARNINGS=1
TUSKGUARD_PEPPER=$(openssl rand -hex 32) && export TUSKGUARD_PEPPER
TUSKGUARD_MASTER_KEY=$(openssl rand -hex 32) && export TUSKGUARD_MASTER_KEY
CONFIG=$WORK/tuskguard.yaml
SECRETS=$WORK/secrets.txt # every secret of this run, for the "nowhere on disk" check; removed on exit
(umask 077 && : >"$SECRETS")

step() { printf '\n=== %s ===\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() { echo "demo: step failed: $*" >&2; exit 1; }
secret() { # remember a secret (never printed)
  printf '%s\n' "$1" >>"$SECRETS"
  if [[ -n ${DEMO_SECRETS_FILE:-} ]]; then printf '%s\n' "$1" >>"$DEMO_SECRETS_FILE"; fi
}
tg() { (cd "$WORK" && node --import "$TSX" "$ROOT/src/cli/index.ts" "$@" --config "$CONFIG"); }
api() { curl -sS --max-time 10 "$@"; }
token_info_status() { api -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$SIM_URL/oauth/token/info"; }
secret "$TUSKGUARD_PEPPER"
secret "$TUSKGUARD_MASTER_KEY"

step "1. start the Mastodon simulator on a free loopback port"
node --import "$TSX" "$ROOT/test/mastodon-sim/serve.ts" --host 127.0.0.1 --port 0 \
  --log "$WORK/sim-production.log" >"$WORK/sim.json" 2>"$WORK/sim.err" &
SIM_PID=$!
for _ in $(seq 1 150); do
  [[ -s $WORK/sim.json ]] && break
  kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/sim.err" >&2; fail "the simulator did not start"; }
  sleep 0.2
done
[[ -s $WORK/sim.json ]] || fail "the simulator did not print its address within 30 s"
SIM_URL=$(jq -r .url "$WORK/sim.json")
secret "$(jq -r .clientSecret "$WORK/sim.json")" # the simulator's seeded test credentials
secret "$(jq -r .adminToken "$WORK/sim.json")"
echo "simulator pid $SIM_PID at $SIM_URL"
echo "work dir $WORK"

step "2. register two apps, mint an app token and a user token, import them"
register_app() { # NAME SCOPES → app JSON on stdout
  api -X POST "$SIM_URL/api/v1/apps" -H 'content-type: application/json' \
    -d "$(jq -cn --arg n "$1" --arg s "$2" '{client_name: $n, redirect_uris: "urn:ietf:wg:oauth:2.0:oob", scopes: $s}')"
}
FEED_APP=$(register_app feed-digest 'read write:statuses')
FEED_CLIENT_ID=$(jq -r .client_id <<<"$FEED_APP") && FEED_CLIENT_SECRET=$(jq -r .client_secret <<<"$FEED_APP")
secret "$FEED_CLIENT_SECRET"
FEED_TOKEN=$(api -X POST "$SIM_URL/oauth/token" -d grant_type=client_credentials -d "client_id=$FEED_CLIENT_ID" \
  -d "client_secret=$FEED_CLIENT_SECRET" --data-urlencode 'scope=read write:statuses' | jq -r .access_token)
secret "$FEED_TOKEN"
echo "app feed-digest registered; app token minted with client_credentials (scopes: read write:statuses)"

api -X POST "$SIM_URL/__sim/users" -H 'content-type: application/json' -d '{"username":"alice"}' >/dev/null
ALICE_APP=$(register_app alice-phone 'read write follow')
ALICE_CLIENT_ID=$(jq -r .client_id <<<"$ALICE_APP") && ALICE_CLIENT_SECRET=$(jq -r .client_secret <<<"$ALICE_APP")
secret "$ALICE_CLIENT_SECRET"
CODE=$(api -G "$SIM_URL/__sim/oauth/authorize" --data-urlencode "client_id=$ALICE_CLIENT_ID" --data-urlencode username=alice \
  --data-urlencode redirect_uri=urn:ietf:wg:oauth:2.0:oob --data-urlencode 'scope=read write follow' | jq -r .code)
ALICE_TOKEN=$(api -X POST "$SIM_URL/oauth/token" -d grant_type=authorization_code -d "code=$CODE" \
  -d "client_id=$ALICE_CLIENT_ID" -d "client_secret=$ALICE_CLIENT_SECRET" -d redirect_uri=urn:ietf:wg:oauth:2.0:oob |
  jq -r .access_token)
secret "$ALICE_TOKEN"
echo "app alice-phone registered; alice consented; user token minted (scopes: read write follow)"

mkdir -p "$WORK/bot" "$WORK/logs"
cat >"$CONFIG" <<EOF
# The feed-digest consumer reads its token from this env file; rotation writes the new one there.
rotation:
  targets:
    - { id: bot-env, type: env-file, path: $WORK/bot/.env, variable: MASTODON_ACCESS_TOKEN }
  keys:
    feed-digest: { targets: [bot-env] }
EOF
(
  umask 077
  cat >"$WORK/keys.yaml" <<EOF
keys:
  - { id: feed-digest, instance: "$SIM_URL", kind: app, token: "$FEED_TOKEN", client_id: "$FEED_CLIENT_ID",
      client_secret: "$FEED_CLIENT_SECRET", scopes: [read, "write:statuses"], owner: ops,
      purpose: reads the public timeline for the daily digest,
      rotation: { strategy: client_credentials, max_age: 90d }, labels: { team: ops } }
  - { id: alice-phone, instance: "$SIM_URL", kind: user, token: "$ALICE_TOKEN", client_id: "$ALICE_CLIENT_ID",
      client_secret: "$ALICE_CLIENT_SECRET", scopes: [read, write, follow], owner: alice,
      purpose: alice's phone client, labels: { team: community } }
EOF
)
tg keys import "$WORK/keys.yaml"
shred -u "$WORK/keys.yaml" 2>/dev/null || rm -f "$WORK/keys.yaml"
ok "keys.yaml imported and deleted"

step "3. list the keys (fingerprints, never a secret)"
tg keys list
LIST=$(tg keys list --output json)
fp_of() { jq -r --arg id "$1" '(if type == "array" then . else .keys end)[] | select(.id == $id) | .fingerprint' <<<"$LIST"; }
FEED_FP=$(fp_of feed-digest) && ALICE_FP=$(fp_of alice-phone)
[[ $FEED_FP =~ ^[0-9a-f]{32}$ && $ALICE_FP =~ ^[0-9a-f]{32}$ ]] || fail "keys list --output json has no fingerprints"
if grep -rlaF -f "$SECRETS" "$TUSKGUARD_HOME"; then fail "a raw secret is stored in plain text under TUSKGUARD_HOME"; fi
ok "no raw token, client secret, pepper or master key in any file under TUSKGUARD_HOME"

step "4. traffic through a proxy log (nginx-json), ingest, least-privilege review"
LOG=$WORK/logs/access.json.log
hit() { # TOKEN FINGERPRINT METHOD PATH: a real request to the simulator, logged as nginx would log it
  local rid result status bytes rt
  rid=$(openssl rand -hex 16)
  result=$(api -o /dev/null -w '%{http_code} %{size_download} %{time_total}' -X "$3" -H "Authorization: Bearer $1" \
    -H "X-Request-Id: $rid" -A 'DemoClient/1.0' "$SIM_URL$4")
  read -r status bytes rt <<<"$result"
  [[ $status == 2* ]] || fail "$3 $4 answered $status"
  jq -cn --arg ts "$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" --argjson msec "$(date +%s.%3N)" --arg rid "$rid" \
    --arg method "$3" --arg uri "$4" --argjson status "$status" --argjson bytes "$bytes" --argjson rt "$rt" --arg fp "$2" \
    '{ts: $ts, msec: $msec, ip: "127.0.0.1", xff: "", rid: $rid, host: "127.0.0.1", method: $method, uri: $uri,
      status: $status, bytes: $bytes, rt: $rt, ua: "DemoClient/1.0", fp: $fp}' >>"$LOG"
}
for _ in 1 2 3; do
  hit "$FEED_TOKEN" "$FEED_FP" GET '/api/v1/timelines/public?limit=40'
  hit "$ALICE_TOKEN" "$ALICE_FP" GET '/api/v1/timelines/home'
  hit "$ALICE_TOKEN" "$ALICE_FP" GET '/api/v1/notifications?limit=30'
done
hit "$FEED_TOKEN" "$FEED_FP" GET '/api/v1/apps/verify_credentials'
hit "$ALICE_TOKEN" "$ALICE_FP" GET '/api/v1/accounts/verify_credentials'
hit "$ALICE_TOKEN" "$ALICE_FP" POST '/api/v1/statuses?status=hello'
echo "$(wc -l <"$LOG") requests logged to $LOG (fingerprints only):"
head -n 2 "$LOG"
tg ingest "$LOG"
tg keys review --since 1d
REVIEW=$(tg keys review --since 1d --output json)
jq '.keys[] | {id, granted, used, unused, recommended}' <<<"$REVIEW"
review_of() { jq -c --arg id "$1" ".keys[] | select(.id == \$id) | $2" <<<"$REVIEW"; }
[[ $(review_of alice-phone '.unused | index("follow") != null') == true ]] || fail "review: alice-phone's unused follow scope not shown"
[[ $(review_of alice-phone '.recommended | index("write:statuses") != null') == true ]] || fail "review: write:statuses missing from alice-phone's minimal set"
ok "review shows the unused granted scopes and the minimal set per key"

step "5. revoke alice-phone (a user token) and confirm the 401"
tg keys revoke alice-phone --reason demo
REVOKE=$(tg keys show alice-phone --output json)
jq '{id, status, revocations}' <<<"$REVOKE"
[[ $(jq -r .status <<<"$REVOKE") == revoked ]] || fail "alice-phone is not revoked"
STATUS=$(token_info_status "$ALICE_TOKEN")
echo "curl GET /oauth/token/info with alice-phone's old token → HTTP $STATUS"
[[ $STATUS == 401 ]] || fail "the revoked token still answers $STATUS"
tg keys revoke alice-phone --reason demo # idempotent: says it is already revoked
ok "alice-phone revoked on the instance, 401 confirmed by tuskguard and by curl"

step "6. rotate feed-digest (client_credentials): new token live, old one revoked"
tg keys rotate feed-digest --now --reason "demo rotation"
tg keys rotation status
ROTATION=$(tg keys rotation status feed-digest --output json)
[[ -f $WORK/bot/.env ]] || fail "the env-file target was not written"
NEW_FEED_TOKEN=$(sed -n 's/^MASTODON_ACCESS_TOKEN=//p' "$WORK/bot/.env")
secret "$NEW_FEED_TOKEN"
[[ -n $NEW_FEED_TOKEN && $NEW_FEED_TOKEN != "$FEED_TOKEN" ]] || fail "the env file does not hold a new token"
echo "env-file target $WORK/bot/.env: mode $(stat -c %a "$WORK/bot/.env"), MASTODON_ACCESS_TOKEN replaced"
OLD_STATUS=$(token_info_status "$FEED_TOKEN") && NEW_STATUS=$(token_info_status "$NEW_FEED_TOKEN")
echo "curl GET /oauth/token/info: old token → HTTP $OLD_STATUS, new token → HTTP $NEW_STATUS"
[[ $OLD_STATUS == 401 && $NEW_STATUS == 200 ]] || fail "after rotation: old $OLD_STATUS (want 401), new $NEW_STATUS (want 200)"
NEW_FEED_FP=$(tg keys show feed-digest --output json | jq -r .fingerprint)
[[ $NEW_FEED_FP != "$FEED_FP" ]] || fail "feed-digest still has its old fingerprint"
echo "feed-digest fingerprint $FEED_FP → $NEW_FEED_FP"
[[ $(jq -r --arg old "$FEED_FP" --arg new "$NEW_FEED_FP" \
  '.rotations[0] | .state == "completed" and .old_fingerprint == $old and .new_fingerprint == $new' <<<"$ROTATION") == true ]] ||
  fail "keys rotation status does not show the completed rotation from $FEED_FP to $NEW_FEED_FP"
ok "rotated: the consumer has the new token, the old one answers 401"

step "7. scan a repository that once committed the new token"
REPO=$WORK/leaky-repo
g() { git -C "$REPO" -c user.name=demo -c user.email=demo@example.invalid -c commit.gpgsign=false "$@"; }
mkdir -p "$REPO" && git init -q "$REPO"
printf 'INSTANCE=%s\n' "$SIM_URL" >"$REPO/README.env.example"
cp "$WORK/bot/.env" "$REPO/.env"
g add -A && g commit -qm "bot config"
g rm -q .env && g commit -qm "remove .env"
echo "$REPO: .env committed in $(g rev-parse --short HEAD~1), deleted in $(g rev-parse --short HEAD)"
set +e
tg scan "$REPO" --git
SCAN_CODE=$?
SCAN=$(tg scan "$REPO" --git --output json)
set -e
echo "scan exit code $SCAN_CODE"
((SCAN_CODE == 1)) || fail "scan exited $SCAN_CODE, expected 1 (found)"
jq -c '.. | objects | select(has("fingerprint"))' <<<"$SCAN" | head -n 5
[[ $(jq --arg fp "$NEW_FEED_FP" '[.. | objects | select(.fingerprint? == $fp)] | length' <<<"$SCAN") -gt 0 ]] ||
  fail "scan did not report feed-digest's fingerprint $NEW_FEED_FP"
ok "the leaked feed-digest token was found in git history by fingerprint, and not printed"

step "8. nothing secret on disk"
if grep -rlaF -f "$SECRETS" "$TUSKGUARD_HOME" "$WORK/logs" "$WORK/sim-production.log"; then fail "a raw secret is in a file listed above"; fi
ok "no raw token, client secret, pepper or master key in TUSKGUARD_HOME, the proxy log or the simulator's log"

echo
echo "demo: all steps passed"
