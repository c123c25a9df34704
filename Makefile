# driftwatch: every task a person or CI runs. `make demo` and `make test` work
# on a fresh machine with Go and moto_server; everything else is installed here.
SHELL      := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO         ?= go
export GOFLAGS := -buildvcs=false
export GOTOOLCHAIN := local

ROOT       := $(CURDIR)
BIN        := $(ROOT)/bin
TOOLS      := $(ROOT)/.tools
HOSTARCH   := $(shell $(GO) env GOARCH)
# The AWS Lambda Runtime Interface Emulator runs the real bootstrap binary
# locally (make demo). Pinned; built from the Go module proxy.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE        := $(TOOLS)/aws-lambda-rie
PKGS       := ./shared/... ./functions/aws/... ./functions/azure/...
FUNCTIONS  := detector remediator interactivity
# The remediation governance policy packaged with the functions (make package).
GOVERNANCE_FILE ?= $(ROOT)/testdata/governance/example.yaml
# A number of executions, not a duration: a duration can end with the
# coordinator's deadline expiring under load ("context deadline exceeded").
FUZZTIME   ?= 100000x

.PHONY: help check-tools deps tools build build-host package test test-unit fuzz lint fmt bench demo table clean

help:
	@echo "make demo   - the AWS drift pipeline end to end on local emulators"
	@echo "make test   - lint + every test (needs moto_server)"
	@echo "make bench  - Go benchmarks + end-to-end figures"
	@echo "make build  - Lambda bootstrap binaries (arm64, amd64) under bin/"
	@echo "make package - function.zip per function and architecture (bootstrap + governance.yaml) for infra/aws"
	@echo "make table  - create the DynamoDB posture table (DRIFTWATCH_TABLE, AWS_ENDPOINT_URL)"

# moto_server is the AWS protocol emulator the tests run against. It comes
# with the build machines (PyPI is not reachable to install it), so its
# absence is a hard failure, never a skip.
check-tools:
	@command -v $(GO) >/dev/null || { echo "ERROR: go not found on PATH" >&2; exit 1; }
	@command -v moto_server >/dev/null || { echo "ERROR: moto_server not found on PATH. driftwatch's tests and demo need the moto AWS emulator (moto_server, moto >= 5)." >&2; exit 1; }

deps:
	cd shared && $(GO) mod download
	cd functions/aws && $(GO) mod download

$(RIE):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

tools: $(RIE)

# Lambda binaries for provided.al2023: static, no RPC, named bootstrap.
build: deps
	@for fn in $(FUNCTIONS); do for arch in arm64 amd64; do \
	  out=$(BIN)/aws-$$fn/$$arch; mkdir -p $$out; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $$out/bootstrap ./functions/aws/$$fn; \
	  echo "built $$out/bootstrap ($$(stat -c %s $$out/bootstrap) bytes)"; \
	done; done

# The functions for this machine's architecture only (demo, bench).
build-host: deps
	@for fn in $(FUNCTIONS); do \
	  out=$(BIN)/aws-$$fn/$(HOSTARCH); mkdir -p $$out; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(HOSTARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $$out/bootstrap ./functions/aws/$$fn; \
	done

# Deterministic zips for infra/aws: bootstrap (0755) and the governance
# policy, with fixed timestamps.
package: build
	@test -f "$(GOVERNANCE_FILE)" || { echo "ERROR: GOVERNANCE_FILE=$(GOVERNANCE_FILE) does not exist" >&2; exit 1; }
	@command -v zip >/dev/null || { echo "ERROR: zip not found" >&2; exit 1; }
	@for fn in $(FUNCTIONS); do for arch in arm64 amd64; do \
	  dir=$(BIN)/aws-$$fn/$$arch; stage=$$(mktemp -d); \
	  cp $$dir/bootstrap $$stage/; chmod 0755 $$stage/bootstrap; \
	  cp "$(GOVERNANCE_FILE)" $$stage/governance.yaml; chmod 0644 $$stage/governance.yaml; \
	  touch -d @315532800 $$stage/*; rm -f $$dir/function.zip; \
	  (cd $$stage && TZ=UTC zip -q -X $$dir/function.zip bootstrap governance.yaml); rm -rf $$stage; \
	  echo "packaged $$dir/function.zip"; \
	done; done

lint:
	@out=$$(gofmt -l shared functions); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w shared functions

test-unit: check-tools deps
	$(GO) test -count=1 -timeout 20m $(PKGS)

# Short coverage-guided runs of every fuzz target on top of the seed corpus
# (the seeds themselves run in test-unit).
fuzz: deps
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' shared functions | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$spec $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./$$spec; \
	  done; \
	done

test: lint test-unit fuzz

bench: check-tools build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS) | tee $(BIN)/bench-go.txt
	$(GO) run ./shared/cmd/bench -bootstrap $(BIN)/aws-detector/$(HOSTARCH)/bootstrap -gobench $(BIN)/bench-go.txt

demo: check-tools build-host $(RIE)
	$(GO) run ./shared/cmd/demo -rie $(RIE) -events $(ROOT)/events/aws \
	  -bootstrap $(BIN)/aws-detector/$(HOSTARCH)/bootstrap \
	  -remediator $(BIN)/aws-remediator/$(HOSTARCH)/bootstrap \
	  -interactivity $(BIN)/aws-interactivity/$(HOSTARCH)/bootstrap

table:
	$(GO) run ./shared/cmd/mktable -table "$${DRIFTWATCH_TABLE:?set DRIFTWATCH_TABLE}"

clean:
	rm -rf $(BIN) $(TOOLS)
