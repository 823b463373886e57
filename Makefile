# ironscope: static BPF tracing tools. `make` builds, `make test` tests,
# `make run TOOL=execsnoop ARGS="-x"` runs one tool. Every target that needs
# system packages installs them first (make deps is idempotent).

TARGET   := x86_64-unknown-linux-gnu
BIN      := target/$(TARGET)/release
DISTBIN  := target/$(TARGET)/dist
PREFIX   ?= /usr/local
DESTDIR  ?=
TOOL     ?= execsnoop
ARGS     ?=
CARGO    ?= cargo
# What building needs, and what the tests add (VM, filesystems, netfilter, pty).
BUILD_PKGS := build-essential clang libelf-dev zlib1g-dev pkg-config
TEST_PKGS  := bpftool qemu-system-x86 busybox-static cpio e2fsprogs xfsprogs \
              iproute2 iptables util-linux tmux file bash

.PHONY: all build deps test-deps apt dist install run test unit lint vmtest vmlinux bench clean tables

all: build

deps:
	@$(MAKE) --no-print-directory apt PKGS="$(BUILD_PKGS)"
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup first"; exit 1; }
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add rustfmt clippy >/dev/null 2>&1 || true

test-deps: deps
	@$(MAKE) --no-print-directory apt PKGS="$(TEST_PKGS)"

apt:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	$(CARGO) build --release --locked

dist: deps
	$(CARGO) build --profile dist --locked

# Installs every tool and, for tools with aliases (ext4slower -> fsslower),
# a symlink per alias.
install: dist
	install -d $(DESTDIR)$(PREFIX)/bin
	@for f in $(DISTBIN)/*; do \
		[ -f "$$f" ] && [ -x "$$f" ] && case "$$f" in *.d) ;; *) install -m 0755 "$$f" $(DESTDIR)$(PREFIX)/bin/ ;; esac; \
	done; true
	@$(DISTBIN)/ironscope --list | awk '$$2 == "alias" { print $$1, $$4 }' | while read a t; do \
		ln -sf $$t $(DESTDIR)$(PREFIX)/bin/$$a; done

run: build
	$(BIN)/$(TOOL) $(ARGS)

lint: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

unit: test-deps
	$(CARGO) test --release --locked -- --test-threads=2

vmtest: test-deps build
	bash tests/vm/run.sh

test: test-deps lint unit vmtest

vmlinux: deps
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/x86/vmlinux.h

# Regenerates the committed syscall and errno name tables from the kernel headers.
tables:
	sh src/runtime/gen-tables.sh

bench: build
	bash bench/run.sh

clean:
	$(CARGO) clean
