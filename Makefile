# sluice — see README.md. `make demo` and `make test` set everything up on a
# fresh Debian machine: they install the system packages they need (as root)
# or say exactly what to install.

SWIFT        ?= swift
PREFIX       ?= /usr/local
DEMO_DIR     ?= $(CURDIR)/demo-data
RELEASE_BIN  := .build/release/sluice
APT_PACKAGES := libzstd-dev libisal-dev liblz4-dev libsnappy-dev pkg-config zstd
# Seeds and sizes of the long crash and fuzz runs (make test-crash / make fuzz).
CRASH_TRIALS ?= 200

.PHONY: all deps build release demo test test-crash bench bench-peer-deps fuzz clean

all: release

# System packages: libzstd (batch and archive compression), ISA-L (CRC-32C, gzip),
# liblz4 and libsnappy (reading lz4 and snappy batches),
# pkg-config (to find them), and the zstd CLI (benchmark baselines, tar --zstd).
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The whole suite: unit tests of every library, end-to-end tests against the
# release binary (crash, concurrency and bad-input tests in their short form).
test: release
	SLUICE_BIN=$(CURDIR)/$(RELEASE_BIN) $(SWIFT) test

# The long form of the crash tests.
test-crash: release
	SLUICE_BIN=$(CURDIR)/$(RELEASE_BIN) SLUICE_CRASH_TRIALS=$(CRASH_TRIALS) $(SWIFT) test --filter Crash

# Benchmarks (see BENCHMARKS.md): every case against its baseline, measured in
# the same run. `make bench` runs the full set and rewrites the figures in
# BENCHMARKS.md; `make bench QUICK=1` runs small data sets in under a minute and
# leaves BENCHMARKS.md alone. The kcat -> Tansu comparison (full run only; skip
# it with PEER=0) needs kcat and python3-venv from Debian (installed here when
# root) and pip wheels it puts in a venv under bench-data/tools.
BENCH_QUICK := $(filter 1 yes true,$(QUICK))
BENCH_PEER  := $(if $(BENCH_QUICK)$(filter 0 no false,$(PEER)),,peer)
BENCH_FLAGS := $(if $(BENCH_QUICK),--quick --label "make bench QUICK=1",--report BENCHMARKS.md --label "make bench") \
               $(if $(BENCH_PEER),,--no-peer)

bench: release $(if $(BENCH_PEER),bench-peer-deps)
	.build/release/sluice-bench $(BENCH_FLAGS)

bench-peer-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="python3-venv kcat" || echo "(the kcat -> Tansu comparison will be skipped)"

# The main job end to end on a local data directory.
demo: release
	@rm -rf "$(DEMO_DIR)"
	@export SLUICE_DATA_DIR="$(DEMO_DIR)"; set -e; S=$(CURDIR)/$(RELEASE_BIN); \
	echo "== data directory: $(DEMO_DIR)"; \
	echo "\$$ sluice topic create orders --partitions 3"; $$S topic create orders --partitions 3; \
	echo "\$$ (200000 JSON orders) | sluice produce orders --key-separator '|'"; \
	awk 'BEGIN { for (i = 0; i < 200000; i++) printf "customer-%d|{\"order\":%d,\"customer\":\"customer-%d\",\"amount\":%d.%02d}\n", i % 997, i, i % 997, i % 500, i % 100 }' \
	  | $$S produce orders --key-separator '|'; \
	echo "\$$ sluice topic describe orders"; $$S topic describe orders; \
	echo "\$$ sluice consume orders --partition 0 --max-messages 3 --format '%p:%o %k %v\\n'"; \
	$$S consume orders --partition 0 --max-messages 3 --format '%p:%o %k %v\n'; \
	echo "\$$ sluice verify orders"; $$S verify orders; \
	echo "== demo done (data left in $(DEMO_DIR))"

clean:
	rm -rf .build demo-data
