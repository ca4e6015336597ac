#!/usr/bin/env bash
# Property-based API tests (`make api-fuzz`): Schemathesis against the local stack, every operation
# of openapi.yaml, its examples, coverage, fuzzing and stateful phases (links chain create →
# fetch → PATCH → customer), every check. Prints the requests sent, the failures and the 5xx
# answers; fails on any failure or error.
#
# Schemathesis lives in a venv of its own under .local/ (its pins are its own), made on first use.
# The stack is `target/debug/kyc-local` on free ports, with the gateway's IAM check on
# (LOCAL_GATEWAY_IAM=true: the spec's `sigv4` requirement is held to; requests carry a header of
# SigV4's form). Tunables: FUZZ_EXAMPLES (per operation and phase), FUZZ_MAX_TIME (seconds),
# FUZZ_SEED, SCHEMATHESIS_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
venv="${SCHEMATHESIS_VENV:-.local/schemathesis-venv}"
examples="${FUZZ_EXAMPLES:-100}"
max_time="${FUZZ_MAX_TIME:-200}"
out="$(mktemp -d)"
started=$(date +%s)

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The stack on free ports; stopped (by its own pid) however this script ends.
LOCAL_GATEWAY_IAM=true API_PORT=0 EMULATOR_PORT=0 DYNAMODB_PORT=0 RECEIVER_PORT=0 TABLE_NAME=api-fuzz \
  target/debug/kyc-local >"$out/stack.out" 2>"$out/stack.err" &
stack_pid=$!
stop_stack() {
  kill -INT "$stack_pid" 2>/dev/null || true
  wait "$stack_pid" 2>/dev/null || true
  # A panic or an error of the stack is part of the result.
  grep -E 'panicked|ERROR' "$out/stack.err" | head -20 || true
  rm -rf "$out"
}
trap stop_stack EXIT
for _ in $(seq 1 120); do
  grep -q '^ready ' "$out/stack.out" && break
  kill -0 "$stack_pid" 2>/dev/null || { cat "$out/stack.err"; echo "api-fuzz: the local stack did not start"; exit 1; }
  sleep 0.5
done
api=$(sed -n 's/^ready api=\([^ ]*\).*/\1/p' "$out/stack.out")
[ -n "$api" ] || { echo "api-fuzz: no ready line"; exit 1; }
echo "api-fuzz: $(cat "$out/stack.out")"

# A header of SigV4's form (the local gateway checks the form; it has no IAM to check the signature).
sigv4="AWS4-HMAC-SHA256 Credential=AKIDLOCALFUZZ/$(date -u +%Y%m%d)/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '0%.0s' $(seq 1 64))"

set +e
# One worker: with several, CPython 3.11's compile() races in Hypothesis's lambda descriptions
# (`SystemError: AST constructor recursion depth mismatch`, a run error of the tool, not the API).
# `missing_required_header` expects 401 when `Authorization` is left out; API Gateway's IAM
# authorizer answers 403 (as the spec says), so that one check is not run; `ignored_auth` still
# holds every IAM route to refusing a missing or malformed signature.
"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run openapi.yaml \
  --url "$api" \
  --header "Authorization: $sigv4" \
  --phases examples,coverage,fuzzing,stateful \
  --checks all \
  --exclude-checks missing_required_header \
  --max-examples "$examples" \
  --max-time "$max_time" \
  --workers 1 \
  --request-timeout 30 \
  ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
  --report har,ndjson --report-har-path "$out/requests.har" --report-ndjson-path "$out/events.ndjson" \
  --output-truncate true | tee "$out/run.log"
status=${PIPESTATUS[0]}
set -e

python3 - "$out/requests.har" "$out/events.ndjson" "$status" "$(($(date +%s) - started))" "$out/run.log" <<'EOF'
import json, re, sys
har, events, status, seconds, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
entries = json.load(open(har))["log"]["entries"]
server_errors = sum(1 for e in entries if e["response"]["status"] >= 500)
errors = sum(1 for line in open(events) if "NonFatalError" in json.loads(line))
# Schemathesis's own count of unique failures, from its summary line.
summary = open(log).read()
found = re.search(r"(\d+) failures?", summary.splitlines()[-1] if summary else "")
failures = int(found.group(1)) if found else 0
print(f"api-fuzz: requests={len(entries)} failures={failures} errors={errors} 5xx={server_errors} seconds={seconds} exit={status}")
if status != 0 or failures or errors or server_errors:
    sys.exit(1)
EOF
