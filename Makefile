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
PKGS       := ./shared/... ./functions/aws/... ./functions/azure/... ./functions/gcp/...
FUNCTIONS  := detector remediator interactivity
# Build tags. lambda.norpc: the Lambda functions need no RPC runtime
# (provided.al2023). grpcnotrace: gRPC (the Pub/Sub client of the GCP and
# interactivity functions) without golang.org/x/net/trace, whose debug
# pages' html/template turns off the linker's method dead code elimination:
# the GCP function is 27 MB with it, 50 MB without (TestMethodDeadCodeEliminationStaysOn).
LAMBDA_TAGS := lambda.norpc,grpcnotrace
GCP_TAGS    := grpcnotrace
# The remediation governance policy packaged with the functions (make package).
GOVERNANCE_FILE ?= $(ROOT)/testdata/governance/example.yaml
# A number of executions, not a duration: a duration can end with the
# coordinator's deadline expiring under load ("context deadline exceeded").
FUZZTIME   ?= 100000x

.PHONY: help check-tools deps tools build build-host build-azure build-gcp package package-azure package-gcp test test-unit fuzz lint fmt bench demo table clean

help:
	@echo "make demo   - the AWS, Azure and GCP drift pipelines end to end on local emulators"
	@echo "make test   - lint + every test (needs moto_server)"
	@echo "make bench  - Go benchmarks + end-to-end figures"
	@echo "make build  - Lambda bootstrap binaries (arm64, amd64) and the Azure handler (amd64) under bin/"
	@echo "make package - function.zip per function and architecture (bootstrap + governance.yaml) for infra/aws, and package-azure"
	@echo "make package-azure - bin/azure-function/amd64/function.zip (handler, host.json, function folders, governance.yaml) for infra/azure"
	@echo "make package-gcp - bin/gcp-function/image, the Cloud Run container's build context (function, governance.yaml, Dockerfile) for infra/gcp"
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
	cd functions/azure && $(GO) mod download
	cd functions/gcp && $(GO) mod download

$(RIE):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

tools: $(RIE)

# The Azure Functions custom handler for architecture $(1): static, named
# handler (host.json's defaultExecutablePath).
define build_azure
	@mkdir -p $(BIN)/azure-function/$(1)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(1) $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/azure-function/$(1)/handler ./functions/azure
	@echo "built $(BIN)/azure-function/$(1)/handler ($$(stat -c %s $(BIN)/azure-function/$(1)/handler) bytes)"
endef

# The GCP function for architecture $(1): a static binary, the Cloud Run
# container's entrypoint (functions/gcp/Dockerfile).
define build_gcp
	@mkdir -p $(BIN)/gcp-function/$(1)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(1) $(GO) build -tags $(GCP_TAGS) -trimpath -ldflags='-s -w' -o $(BIN)/gcp-function/$(1)/function ./functions/gcp
	@echo "built $(BIN)/gcp-function/$(1)/function ($$(stat -c %s $(BIN)/gcp-function/$(1)/function) bytes)"
endef

# Lambda binaries for provided.al2023: static, no RPC, named bootstrap; the
# Azure handler (build-azure) and the GCP function (build-gcp).
build: deps build-azure build-gcp
	@for fn in $(FUNCTIONS); do for arch in arm64 amd64; do \
	  out=$(BIN)/aws-$$fn/$$arch; mkdir -p $$out; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags $(LAMBDA_TAGS) -trimpath -ldflags='-s -w' -o $$out/bootstrap ./functions/aws/$$fn; \
	  echo "built $$out/bootstrap ($$(stat -c %s $$out/bootstrap) bytes)"; \
	done; done

# The functions for this machine's architecture only (demo, bench).
build-host: deps
	@for fn in $(FUNCTIONS); do \
	  out=$(BIN)/aws-$$fn/$(HOSTARCH); mkdir -p $$out; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(HOSTARCH) $(GO) build -tags $(LAMBDA_TAGS) -trimpath -ldflags='-s -w' -o $$out/bootstrap ./functions/aws/$$fn; \
	done
	$(call build_azure,$(HOSTARCH))
	$(call build_gcp,$(HOSTARCH))

# The Azure handler for the Linux Consumption plan, which runs x64 only.
build-azure: deps
	$(call build_azure,amd64)

# The GCP function for Cloud Run (x86-64).
build-gcp: deps
	$(call build_gcp,amd64)

# Deterministic zips for infra/aws: bootstrap (0755) and the governance
# policy, with fixed timestamps; and the Azure package (package-azure).
package: build package-azure package-gcp
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

# The deterministic run-from-package zip for infra/azure (infra/azure/locals.tf):
# handler (0755), host.json, one folder per function with its function.json,
# and the governance policy, read at /home/site/wwwroot/governance.yaml.
AZURE_FUNCTION_DIRS := $(patsubst $(ROOT)/functions/azure/%/function.json,%,$(sort $(wildcard $(ROOT)/functions/azure/*/function.json)))
package-azure: build-azure
	@test -f "$(GOVERNANCE_FILE)" || { echo "ERROR: GOVERNANCE_FILE=$(GOVERNANCE_FILE) does not exist" >&2; exit 1; }
	@command -v zip >/dev/null || { echo "ERROR: zip not found" >&2; exit 1; }
	@dir=$(BIN)/azure-function/amd64; stage=$$(mktemp -d); \
	  cp $$dir/handler $$stage/; chmod 0755 $$stage/handler; \
	  cp $(ROOT)/functions/azure/host.json $$stage/; cp "$(GOVERNANCE_FILE)" $$stage/governance.yaml; \
	  for fn in $(AZURE_FUNCTION_DIRS); do mkdir $$stage/$$fn; chmod 0755 $$stage/$$fn; cp $(ROOT)/functions/azure/$$fn/function.json $$stage/$$fn/; done; \
	  chmod 0644 $$stage/host.json $$stage/governance.yaml $$stage/*/function.json; \
	  find $$stage -mindepth 1 -exec touch -d @315532800 {} +; rm -f $$dir/function.zip; \
	  (cd $$stage && TZ=UTC zip -q -X $$dir/function.zip handler host.json $(foreach fn,$(AZURE_FUNCTION_DIRS),$(fn)/ $(fn)/function.json) governance.yaml); \
	  rm -rf $$stage; echo "packaged $$dir/function.zip"

# The Cloud Run container's build context for infra/gcp: the function
# binary, the governance policy and functions/gcp/Dockerfile (distroless
# static, non-root). Build and push it with `docker build` or
# `gcloud builds submit bin/gcp-function/image` (infra/gcp/README.md).
package-gcp: build-gcp
	@test -f "$(GOVERNANCE_FILE)" || { echo "ERROR: GOVERNANCE_FILE=$(GOVERNANCE_FILE) does not exist" >&2; exit 1; }
	@dir=$(BIN)/gcp-function/image; rm -rf $$dir; mkdir -p $$dir; \
	  cp $(BIN)/gcp-function/amd64/function $$dir/; chmod 0755 $$dir/function; \
	  cp "$(GOVERNANCE_FILE)" $$dir/governance.yaml; cp $(ROOT)/functions/gcp/Dockerfile $$dir/; \
	  chmod 0644 $$dir/governance.yaml $$dir/Dockerfile; echo "packaged $$dir (docker build context)"

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
	$(call build_azure,$(HOSTARCH))
	$(call build_gcp,$(HOSTARCH))
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS) | tee $(BIN)/bench-go.txt
	$(GO) run ./shared/cmd/bench -bootstrap $(BIN)/aws-detector/$(HOSTARCH)/bootstrap -gobench $(BIN)/bench-go.txt \
	  -azure-handler $(BIN)/azure-function/$(HOSTARCH)/handler -azure-events $(ROOT)/events/azure \
	  -gcp-function $(BIN)/gcp-function/$(HOSTARCH)/function -gcp-events $(ROOT)/events/gcp

demo: check-tools build-host $(RIE)
	$(GO) run ./shared/cmd/demo -rie $(RIE) -events $(ROOT)/events/aws \
	  -bootstrap $(BIN)/aws-detector/$(HOSTARCH)/bootstrap \
	  -remediator $(BIN)/aws-remediator/$(HOSTARCH)/bootstrap \
	  -interactivity $(BIN)/aws-interactivity/$(HOSTARCH)/bootstrap \
	  -azure-handler $(BIN)/azure-function/$(HOSTARCH)/handler -azure-events $(ROOT)/events/azure \
	  -gcp-function $(BIN)/gcp-function/$(HOSTARCH)/function -gcp-events $(ROOT)/events/gcp

table:
	$(GO) run ./shared/cmd/mktable -table "$${DRIFTWATCH_TABLE:?set DRIFTWATCH_TABLE}"

clean:
	rm -rf $(BIN) $(TOOLS)
