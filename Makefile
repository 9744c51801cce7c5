# Lastfluss: `make run` runs it, `make test` tests it. Both set up what they
# need on a fresh Debian machine that has only Go.

GO      ?= go
BIN     := bin
PLUGINS := $(BIN)/plugins
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Every plugin: directory → bin/plugins/lastfluss-<name>.
PLUGIN_DIRS := $(wildcard plugins/*) examples/custom-sink

.PHONY: all build test run demo bench bench-e2e fuzz proto clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/lastfluss ./core/cmd/lastfluss
	@mkdir -p $(PLUGINS)
	@for d in $(PLUGIN_DIRS); do \
		[ -f $$d/main.go ] || continue; \
		name=$$(basename $$d); [ $$d = examples/custom-sink ] && name=sink-jsonl; \
		echo "$(GO) build -o $(PLUGINS)/lastfluss-$$name ./$$d"; \
		$(GO) build -ldflags "$(LDFLAGS)" -o $(PLUGINS)/lastfluss-$$name ./$$d || exit 1; \
	done

# Tests start their own PostgreSQL from the host's binaries; the script
# installs them from Debian's archive when they are missing.
test: build
	@if [ -x scripts/ensure-postgres.sh ]; then scripts/ensure-postgres.sh; fi
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# A private PostgreSQL under var/pg (installed from Debian's archive when
# missing and run as root), then the collector on examples/lastfluss.hcl.
run: build
	scripts/run.sh

# The same, fed by `lastfluss flowgen`.
demo: build
	scripts/run.sh demo

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# The same NetFlow v9 stream to nfacctd, goflow2 and Lastfluss in one run:
# flows accounted and CPU per flow side by side. ARGS="-rate 100000 -duration 5s"
bench-e2e: build
	scripts/bench-e2e.sh $(ARGS)

# A short coverage-guided run of every fuzz target (the seed corpora run in `make test`).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=20s $$pkg || exit 1; \
		done; \
	done

proto:
	bash scripts/proto.sh

clean:
	rm -rf $(BIN)
