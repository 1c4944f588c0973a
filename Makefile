# difyctl — build, test, demo, install, release.
#
#   make              the static release binary (target/x86_64-unknown-linux-gnu/release/difyctl),
#                     reproducible: no build path inside, dated by the commit
#   make test         every test (unit, integration, keychain when a Secret Service can be started)
#   make lint         rustfmt, clippy and rustdoc (warnings are errors)
#   make demo         a real device-flow sign-in against the bundled mock server
#   make bench        size, start-up time, peak memory, CPU of a pending sign-in
#   make install      binary, man pages, completions under $(DESTDIR)$(PREFIX); rebuilds a stale
#                     binary first, never runs it (BIN=path installs that file instead)
#   make uninstall    removes exactly what install put there
#   make dist         target/dist/difyctl-<version>-<target>.tar.gz and SHA256SUMS, reproducible
#   make completions  regenerates man/completions/ from the command table (after a CLI change)
#   make man-topics   rewrites the guide sections of man/difyctl.1 from src/cli/topics
#   make notices      regenerates THIRD-PARTY-NOTICES (cargo-about)
#   make licenses     the licence policy check (cargo-deny)
#   make man          lints the man pages with mandoc
#   make fuzz         every cargo-fuzz target for FUZZ_SECONDS each (nightly, cargo-fuzz)
#
# LIBDBUS=system builds against the system's shared libdbus (pkg-config
# dbus-1) instead of the vendored static one, into target/system-libdbus/;
# that binary is dynamically linked (glibc too).

CARGO     ?= cargo
TARGET    ?= x86_64-unknown-linux-gnu
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
LIBDBUS   ?= vendored
ifeq ($(LIBDBUS),vendored)
RELEASE_DIR := $(TARGET_DIR)
RELEASE_FEATURES :=
# glibc with +crt-static gives one static-pie binary; the explicit --target
# keeps the flags away from build scripts and proc-macros.
LINKAGE   := -C target-feature=+crt-static
else ifeq ($(LIBDBUS),system)
RELEASE_DIR := $(TARGET_DIR)/system-libdbus
RELEASE_FEATURES := --no-default-features
LINKAGE   :=
else
$(error LIBDBUS is 'vendored' (the default) or 'system', not '$(LIBDBUS)')
endif
RELEASE   := $(RELEASE_DIR)/$(TARGET)/release/difyctl
BIN       ?= $(RELEASE)
DEBUG_DIR := $(TARGET_DIR)/debug
VERSION   := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
MANPAGES  := $(sort $(wildcard man/*.1))
# Section 5: the file formats (difyctl-files.5).
MANPAGES5 := $(sort $(wildcard man/*.5))
# Completion scripts, generated from the command table by `make completions`
# and committed (tests/packaging/install.rs keeps them in sync), so neither install nor
# dist runs the binary: shell:file in man/completions/.
COMPLETIONS := bash:difyctl.bash zsh:_difyctl fish:difyctl.fish
# What the release binary is built from: a newer file makes it stale.
SOURCES   := Cargo.toml Cargo.lock $(shell find src -type f)

.PHONY: all release build test lint demo bench clean install uninstall dist completions man-topics \
	notices licenses man fuzz

all: release

# Reproducible: the paths of the cargo home, the toolchain and the target
# directory are remapped, in the Rust code and in the C code of ring and
# libdbus (cargo names this package's own files relative to the checkout, so
# the checkout's path is not in the binary either, and the flags, being the
# same for every checkout that shares a target directory, let such builds
# share their compiled dependencies). src/build.rs dates the build by the commit
# (or SOURCE_DATE_EPOCH), never the clock. Relative relocations are packed
# (DT_RELR: binutils 2.38+, glibc 2.36+ to link against), about 150 KB less
# than plain RELA entries.
CARGO_HOME_DIR  := $(abspath $(or $(CARGO_HOME),$(HOME)/.cargo))
RUSTUP_HOME_DIR := $(abspath $(or $(RUSTUP_HOME),$(HOME)/.rustup))
REMAP := $(CARGO_HOME_DIR)=/cargo $(RUSTUP_HOME_DIR)=/rustup $(RELEASE_DIR)=/target
# panic = "abort" unwinds nothing, so the unwind tables of our code and of
# the C it links only cost space (about 42 KB); a panic still prints its
# message and aborts.
# Identical code folding: functions whose machine code is the same are kept
# once, about 37 KB less. lld (the linker of x86_64-unknown-linux-gnu since
# Rust 1.90) folds only code under --icf=all and keeps data whose address may
# be compared unique; Rust promises nothing about function addresses.
# `make ICF=` leaves it out, for a linker without it.
ifeq ($(TARGET),x86_64-unknown-linux-gnu)
ICF ?= -C link-arg=-Wl,--icf=all
endif
RELEASE_RUSTFLAGS := $(LINKAGE) $(ICF) -C link-arg=-Wl,-z,pack-relative-relocs \
	-C force-unwind-tables=no $(addprefix --remap-path-prefix=,$(REMAP))
# cc appends CFLAGS_<target> to the C compiler's flags.
RELEASE_CFLAGS_VAR := CFLAGS_$(subst -,_,$(TARGET))
RELEASE_CFLAGS := $($(RELEASE_CFLAGS_VAR)) $(addprefix -ffile-prefix-map=,$(REMAP)) \
	-fno-asynchronous-unwind-tables -fno-unwind-tables

release:
	RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(RELEASE_CFLAGS_VAR)="$(RELEASE_CFLAGS)" \
		$(CARGO) build --release --locked --target $(TARGET) --target-dir $(RELEASE_DIR) $(RELEASE_FEATURES)
	@ls -l $(RELEASE)

# The binary as a file: rebuilt when a source is newer (install and dist
# depend on it). Touched because cargo leaves an up-to-date binary alone.
$(RELEASE): $(SOURCES)
	@$(MAKE) --no-print-directory release
	@touch $@

build:
	$(CARGO) build --locked

# The release-binary tests run when `make release` has produced it.
test:
	$(if $(wildcard $(RELEASE)),DIFYCTL_RELEASE_BIN=$(RELEASE)) $(CARGO) test --locked --all-targets
	$(CARGO) test --locked --doc

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets --features mock-server -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --no-deps --document-private-items

clean:
	$(CARGO) clean

# Figures for this machine: size, start-up, memory, CPU of a pending sign-in.
bench: release
	@$(CARGO) build --quiet --locked --features mock-server --bin dify-mock
	@tests/bench.sh $(RELEASE) $(DEBUG_DIR)/dify-mock

# A real device-flow sign-in against the bundled mock Dify server (auto-approve
# mode) on 127.0.0.1, in a throw-away config dir.
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

# Copies files only: the binary is never run here (a cross build installs
# like any other).
install: $(BIN)
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man5" \
		"$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	install -m 0755 "$(BIN)" "$(DESTDIR)$(BINDIR)/difyctl"
	install -m 0644 $(MANPAGES) "$(DESTDIR)$(MANDIR)/man1/"
	install -m 0644 $(MANPAGES5) "$(DESTDIR)$(MANDIR)/man5/"
	install -m 0644 man/completions/difyctl.bash "$(DESTDIR)$(BASHCOMPDIR)/difyctl"
	install -m 0644 man/completions/_difyctl "$(DESTDIR)$(ZSHCOMPDIR)/_difyctl"
	install -m 0644 man/completions/difyctl.fish "$(DESTDIR)$(FISHCOMPDIR)/difyctl.fish"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/difyctl" \
		$(foreach page,$(notdir $(MANPAGES)),"$(DESTDIR)$(MANDIR)/man1/$(page)") \
		$(foreach page,$(notdir $(MANPAGES5)),"$(DESTDIR)$(MANDIR)/man5/$(page)") \
		"$(DESTDIR)$(BASHCOMPDIR)/difyctl" "$(DESTDIR)$(ZSHCOMPDIR)/_difyctl" \
		"$(DESTDIR)$(FISHCOMPDIR)/difyctl.fish"

# The sections of difyctl(1) that are the guides of `difyctl help <guide>`
# (ENVIRONMENT, EXIT STATUS, AGENTS AND AUTOMATION), rewritten from
# src/cli/topics after a guide changed; tests/packaging/guides.rs checks them.
man-topics:
	DIFYCTL_UPDATE_MAN=1 $(CARGO) test --quiet --locked --test packaging guides

# The committed completion scripts, from the dev build's command table (via
# a temporary file, so a failure leaves no truncated script).
completions:
	$(CARGO) build --quiet --locked --bin difyctl
	@set -e; for c in $(COMPLETIONS); do \
		shell=$${c%%:*} file=man/completions/$${c#*:}; \
		echo "difyctl completion $$shell > $$file"; \
		$(DEBUG_DIR)/difyctl completion $$shell > "$$file.tmp"; \
		mv -f "$$file.tmp" "$$file"; \
	done

# The release archive: binary, man pages, completions, licences, notices,
# README and CHANGELOG under difyctl-<version>-<target>/, with SHA256SUMS
# beside it. Reproducible (GNU tar): sorted entries, owner 0, modes set here,
# every mtime the commit's date (or SOURCE_DATE_EPOCH), gzip without name or
# time.
DIST_DIR  := $(TARGET_DIR)/dist
DIST_NAME := difyctl-$(VERSION)-$(TARGET)
DIST_DOCS := README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE THIRD-PARTY-NOTICES
dist: release
	@test "$(LIBDBUS)" = vendored || { echo "make dist: the archive holds the static build (LIBDBUS=vendored)" >&2; exit 1; }
	@set -e; \
	epoch=$${SOURCE_DATE_EPOCH:-$(if $(wildcard .git),$$(git log -1 --format=%ct))}; \
	[ -n "$$epoch" ] || { echo "make dist: set SOURCE_DATE_EPOCH (no git checkout to date the archive by)" >&2; exit 1; }; \
	stage="$(DIST_DIR)/$(DIST_NAME)"; \
	rm -rf "$$stage"; \
	install -d -m 0755 "$$stage" "$$stage/man/man1" "$$stage/man/man5" "$$stage/completions"; \
	install -m 0755 "$(RELEASE)" "$$stage/difyctl"; \
	install -m 0644 $(DIST_DOCS) "$$stage/"; \
	install -m 0644 $(MANPAGES) "$$stage/man/man1/"; \
	install -m 0644 $(MANPAGES5) "$$stage/man/man5/"; \
	install -m 0644 man/completions/* "$$stage/completions/"; \
	LC_ALL=C tar --sort=name --format=gnu --owner=0 --group=0 --numeric-owner \
		--mtime="@$$epoch" -C "$(DIST_DIR)" -cf - "$(DIST_NAME)" \
		| gzip -9 -n > "$$stage.tar.gz.tmp"; \
	mv -f "$$stage.tar.gz.tmp" "$$stage.tar.gz"; \
	rm -rf "$$stage"; \
	cd "$(DIST_DIR)" && sha256sum "$(DIST_NAME).tar.gz" > SHA256SUMS && cat SHA256SUMS

# Third-party notices and the licence policy: `cargo install --locked
# cargo-about --features cli` and `cargo install --locked cargo-deny`. The
# notices cover the crates of the release target with default features;
# their C, assembly and data, glibc and the Rust standard library are
# described in .ci/notices/notices.hbs.
notices:
	$(CARGO) about generate --locked --fail -c .ci/notices/about.toml -n notices .ci/notices \
		-o THIRD-PARTY-NOTICES

licenses:
	$(CARGO) deny --locked --config .ci/deny.toml check --deny warnings licenses

man:
	mandoc -T lint -W style $(MANPAGES) $(MANPAGES5)

# Fuzzing (nightly + `cargo install cargo-fuzz`): builds every target in fuzz/
# with debug assertions, then runs each in turn for FUZZ_SECONDS on one core
# (-jobs=1 -workers=1: libFuzzer logs to fuzz/fuzz-0.log, summed up afterwards;
# cargo-fuzz's own output goes to fuzz/run-<target>.out),
# starting from fuzz/seeds/<target> and keeping what it learns in
# fuzz/corpus/<target>; a crash lands in fuzz/artifacts/<target>/ and stops
# the run. Figures per target: runs, exec/s, coverage (cov/ft), corpus size.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= hosts_yml tokens_yml server_responses cli_args sanitize locks
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

# The real commands against a real Dify server (not part of `make test`):
#   DIFY_E2E_HOST=http://127.0.0.1:5001 DIFY_E2E_EMAIL=… DIFY_E2E_PASSWORD=… make e2e
# Without those variables it says it skipped. See tests/e2e.rs.
.PHONY: e2e
e2e:
	$(CARGO) test --locked --test e2e -- --ignored --nocapture --test-threads=1
