# difyctl — build, test, demo, install.
#
#   make            the static release binary (target/x86_64-unknown-linux-gnu/release/difyctl)
#   make test       every test (unit, integration, keychain when a Secret Service can be started)
#   make demo       a real device-flow sign-in against the bundled mock server
#   make bench      size, start-up time, peak memory, CPU of a pending sign-in
#   make install    binary, man pages, completions under $(DESTDIR)$(PREFIX)
#                   (BIN=path installs that binary instead of the release build)
#   make uninstall  removes exactly what install put there
#   make man        lints the man pages with mandoc
#   make fuzz       every cargo-fuzz target for FUZZ_SECONDS each (nightly, cargo-fuzz)

CARGO     ?= cargo
TARGET    ?= x86_64-unknown-linux-gnu
RELEASE   := $(or $(CARGO_TARGET_DIR),target)/$(TARGET)/release/difyctl
BIN       ?= $(RELEASE)
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
MANPAGES  := $(sort $(wildcard man/*.1))
# Installed completion files: shell, then path.
COMPLETIONS := bash:$(BASHCOMPDIR)/difyctl zsh:$(ZSHCOMPDIR)/_difyctl fish:$(FISHCOMPDIR)/difyctl.fish

.PHONY: all release build test lint demo bench clean install uninstall man fuzz

all: release

# glibc with +crt-static gives one static-pie binary; the explicit --target
# keeps the flags away from build scripts and proc-macros. Its relative
# relocations are packed (DT_RELR: binutils 2.38+, glibc 2.36+ to link
# against), about 150 KB less than plain RELA entries.
RELEASE_RUSTFLAGS := -C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs
release:
	RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(CARGO) build --release --locked --target $(TARGET)
	@ls -l $(RELEASE)

build:
	$(CARGO) build --locked

# The release-binary tests run when `make release` has produced it.
test:
	$(if $(wildcard $(RELEASE)),DIFYCTL_RELEASE_BIN=$(abspath $(RELEASE))) $(CARGO) test --locked --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets --features mock-server -- -D warnings

clean:
	$(CARGO) clean

# Figures for this machine: size, start-up, memory, CPU of a pending sign-in.
bench: release
	@$(CARGO) build --quiet --locked --features mock-server --bin dify-mock
	@tests/bench.sh $(RELEASE) $(or $(CARGO_TARGET_DIR),target)/debug/dify-mock

# A real device-flow sign-in against the bundled mock Dify server (auto-approve
# mode) on 127.0.0.1, in a throw-away config dir.
DEBUG_DIR := $(or $(CARGO_TARGET_DIR),target)/debug
demo:
	@$(CARGO) build --quiet --locked --bin difyctl
	@$(CARGO) build --quiet --locked --features mock-server --bin dify-mock
	@set -e; dir=$$(mktemp -d); \
	trap 'kill $$mock 2>/dev/null; rm -rf "$$dir"' EXIT INT TERM; \
	$(DEBUG_DIR)/dify-mock --auto-approve > "$$dir/url" & mock=$$!; \
	while [ ! -s "$$dir/url" ]; do kill -0 $$mock || exit 1; sleep 0.05; done; \
	url=$$(head -n 1 "$$dir/url"); \
	export DIFY_CONFIG_DIR="$$dir/config" DIFY_E2E_NO_KEYRING=1; \
	run() { printf '\n$$ difyctl %s\n' "$$*"; $(DEBUG_DIR)/difyctl "$$@"; }; \
	echo "mock Dify server at $$url; config dir $$DIFY_CONFIG_DIR"; \
	run auth login --host "$$url" --insecure --no-browser; \
	run auth whoami; \
	run auth list; \
	run auth devices list; \
	run auth logout; \
	run auth list

# Only built when missing; `make release` rebuilds.
$(RELEASE):
	$(MAKE) release

# Completion scripts come from the binary itself, via a temporary file so a
# failure never leaves a truncated script behind.
install: $(BIN)
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" \
		"$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	install -m 0755 "$(BIN)" "$(DESTDIR)$(BINDIR)/difyctl"
	install -m 0644 $(MANPAGES) "$(DESTDIR)$(MANDIR)/man1/"
	@set -e; for c in $(COMPLETIONS); do \
		shell=$${c%%:*} dest="$(DESTDIR)$${c#*:}"; \
		echo "$(BIN) completion $$shell > $$dest"; \
		"$(BIN)" completion $$shell > "$$dest.tmp"; \
		chmod 0644 "$$dest.tmp"; \
		mv -f "$$dest.tmp" "$$dest"; \
	done

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/difyctl" \
		$(foreach page,$(notdir $(MANPAGES)),"$(DESTDIR)$(MANDIR)/man1/$(page)") \
		$(foreach c,$(COMPLETIONS),"$(DESTDIR)$(lastword $(subst :, ,$(c)))")

man:
	mandoc -T lint -W style $(MANPAGES)

# Fuzzing (nightly + `cargo install cargo-fuzz`): builds every target in fuzz/
# with debug assertions, then runs each in turn for FUZZ_SECONDS on one core
# (-jobs=1 -workers=1: libFuzzer logs to fuzz/fuzz-0.log, summed up afterwards;
# cargo-fuzz's own output goes to fuzz/run-<target>.out),
# starting from fuzz/seeds/<target> and keeping what it learns in
# fuzz/corpus/<target>; a crash lands in fuzz/artifacts/<target>/ and stops
# the run. Figures per target: runs, exec/s, coverage (cov/ft), corpus size.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= hosts_yml tokens_yml server_responses cli_args sanitize
FUZZ_ARGS    ?=
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz build -a
	@set -e; cd fuzz; for t in $(FUZZ_TARGETS); do \
		case $$t in hosts_yml|tokens_yml) dict=yaml;; server_responses) dict=json;; cli_args) dict=cli;; *) dict=sanitize;; esac; \
		mkdir -p corpus/$$t; rm -f fuzz-0.log; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		status=0; $(CARGO) +nightly fuzz run -a $$t corpus/$$t seeds/$$t -- \
			-dict=dicts/$$dict.dict -max_len=4096 -max_total_time=$(FUZZ_SECONDS) \
			-jobs=1 -workers=1 -print_final_stats=1 $(FUZZ_ARGS) >run-$$t.out 2>&1 || status=$$?; \
		[ $$status -eq 0 ] || tail -n 40 run-$$t.out; \
		if [ -f fuzz-0.log ]; then \
			grep -E 'panicked|ERROR|^SUMMARY|^artifact_prefix|Test unit written' fuzz-0.log || true; \
			grep -E '^#[0-9]+' fuzz-0.log | tail -n 1; \
			grep -E '^stat::' fuzz-0.log; \
		fi; \
		echo "corpus/$$t: $$(ls corpus/$$t | wc -l) entries"; \
		[ $$status -eq 0 ] && ! ls artifacts/$$t/crash-* artifacts/$$t/leak-* artifacts/$$t/timeout-* artifacts/$$t/oom-* >/dev/null 2>&1 || { echo "$$t: FOUND A PROBLEM (fuzz/artifacts/$$t)"; exit 1; }; \
	done
