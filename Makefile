# Berth: build, run and test the stack. Targets that start daemons or run
# containers need root.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
BIN ?= $(CURDIR)/bin
export BERTH_ROOT ?= /var/lib/berth
export BERTH_STATE ?= /run/berth

.PHONY: all build deps up down demo test test-unit test-integration test-e2e genproto bench fuzz chaos

all: build

# Every main package is built. Static binaries: no libc mapped into every
# daemon and shim. The four daemons are one binary, berth-daemon, run through
# a link per daemon (bin/imaged -> berth-daemon): four processes mapping one
# file share its code pages instead of each holding a copy. Install them with
# the links kept (cp -P), else each is a copy and nothing is shared.
MAINS := $(patsubst %/main.go,./%,$(shell grep -l '^package main$$' services/*/cmd/*/main.go cmd/*/main.go))
DAEMONS := imaged snapshotd taskd gateway

# The Version service reports these. The revision is stamped explicitly
# (".m" when the tree has changes, as containerd does): Go's own VCS stamp is
# absent when GOFLAGS holds -buildvcs=false. RELEASE defaults to the
# gateway's own.
REVISION ?= $(shell rev=$$(git rev-parse HEAD 2>/dev/null) && { git diff --no-ext-diff --quiet HEAD -- || rev=$$rev.m; echo $$rev; })
RELEASE ?=
GATEWAY := berth.dev/services/gateway/cmd/gateway
LDFLAGS := -s -w $(if $(REVISION),-X main.revision=$(REVISION) -X $(GATEWAY).revision=$(REVISION)) \
	$(if $(RELEASE),-X main.release=$(RELEASE) -X $(GATEWAY).release=$(RELEASE))

# grpcnotrace keeps golang.org/x/net/trace, and with it text/template, out:
# template's reflective method calls make the linker keep every exported
# method of every type, a fifth of each binary, mapped by every process.
GOTAGS := grpcnotrace

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 go build -trimpath -tags $(GOTAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/ $(MAINS)
	@for d in $(DAEMONS); do ln -sfn berth-daemon $(BIN)/$$d; done

deps:
	scripts/install-deps

up: build
	BIN=$(BIN) scripts/up

down:
	scripts/down

demo: deps
	$(MAKE) up
	BIN=$(BIN) scripts/demo

test:
	scripts/test

test-unit:
	scripts/test unit

test-integration:
	scripts/test integration

test-e2e:
	scripts/test e2e

# Fault injection under load: `make chaos DURATION=10m SEED=42`; prints the
# seed and the figures. Needs root.
DURATION ?= 10m
chaos:
	scripts/chaos $(DURATION) $(if $(SEED),-seed $(SEED)) $(CHAOS_ARGS)

genproto:
	scripts/genproto

bench:
	scripts/bench/all

fuzz:
	FUZZTIME=$${FUZZTIME:-60s} scripts/fuzz
