# Palaver: developer entry points over Meson.
#
#   make demo     build, start palaver-server on 127.0.0.1:$(PORT) and a call
#                 in room `demo`
#   make check    install missing packages, build, run every test suite,
#                 then the server suite again under ASan + UBSan
#
# Every target is idempotent: packages already installed are not touched,
# configured build directories are reused (ninja reconfigures them itself
# when a meson.build changes).

SHELL := /bin/bash
.DEFAULT_GOAL := build

MESON ?= meson
BUILDDIR ?= build
ASANDIR ?= build-asan
HOST ?= 127.0.0.1
PORT ?= 8080
# Extra arguments for `meson setup` of $(BUILDDIR), e.g. MESON_ARGS=-Dgui=disabled
MESON_ARGS ?=
# Extra arguments for `meson test`, e.g. TEST_ARGS='--suite unit'
TEST_ARGS ?=

# Debian packages, one per line: extend these files, not this Makefile.
PACKAGES := .ci/debian-packages.txt
BENCH_PACKAGES := .ci/debian-packages-bench.txt

# The sanitizer build runs the server suite with leak checking, and the call
# tests that exercise the engine's teardown and failure paths (peers leaving,
# glare, a peer sending garbage) without it: GStreamer keeps its registry
# and plugins' allocations for the life of the process, which LeakSanitizer
# would list by the hundred. The same goes for a few window tests (a call,
# two windows in one process, hang up and rejoin) and the video sink.
ASAN_MESON_ARGS := -Db_sanitize=address,undefined
ASAN_CALL_TESTS := two-peers three-peers glare bad-peer missing-elements renegotiate palaver-renegotiate firefox-offer
# The window's lifetimes: a call, two windows in one process, hang up and
# rejoin, quitting in the middle of a hang-up, a window without a video sink.
ASAN_GUI_TESTS := paintable-sink window-in-process window-call window-camera-off window-hang-up window-quit-twice window-no-sink

LSAN_SUPP := $(wildcard $(CURDIR)/tests/lsan.supp)
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(if $(LSAN_SUPP),LSAN_OPTIONS=suppressions=$(LSAN_SUPP))

# Configure $(1) with the meson arguments $(2) unless it is configured already.
# A directory left half-configured by a failed setup is reconfigured.
define meson_setup
	@if [ -f $(1)/build.ninja ]; then :; \
	elif [ -f $(1)/meson-private/coredata.dat ]; then \
	  $(MESON) setup --reconfigure $(2) $(1) || $(MESON) setup --wipe $(2) $(1); \
	else \
	  $(MESON) setup $(2) $(1); \
	fi
endef

.PHONY: all deps deps-bench interop-deps setup build test demo check setup-asan \
	build-asan test-asan bench bench-call bench-interop clean

all: build

deps:
	@.ci/install-deps $(PACKAGES)

deps-bench:
	@.ci/install-deps $(PACKAGES) $(BENCH_PACKAGES)

setup: deps
	$(call meson_setup,$(BUILDDIR),$(MESON_ARGS))

build: setup
	$(MESON) compile -C $(BUILDDIR)

# The interop suite's browser drivers (npm ci of tests/interop's lockfile;
# nothing when node_modules already matches it).
interop-deps: deps
	@tests/interop/install.sh

# All suites: unit, server, call, gui, interop (those not built are absent).
test: build interop-deps
	$(MESON) test -C $(BUILDDIR) --print-errorlogs $(TEST_ARGS)

setup-asan: deps
	$(call meson_setup,$(ASANDIR),$(ASAN_MESON_ARGS))
	@# A build-asan made before the client and window joined it had them disabled.
	@$(MESON) configure $(ASANDIR) -Dclient=auto -Dgui=auto > /dev/null

build-asan: setup-asan
	$(MESON) compile -C $(ASANDIR)

test-asan: build-asan
	@rc=0; \
	$(ASAN_ENV) $(MESON) test -C $(ASANDIR) --suite server --print-errorlogs $(TEST_ARGS) || rc=1; \
	if [ -x $(ASANDIR)/src/app/palaver ]; then \
	  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MESON) test -C $(ASANDIR) --suite call --logbase testlog-call --print-errorlogs $(ASAN_CALL_TESTS) || rc=1; \
	fi; \
	if [ -x $(ASANDIR)/tests/gui/gui-test-paintable-sink ]; then \
	  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MESON) test -C $(ASANDIR) --suite gui --logbase testlog-gui --print-errorlogs $(ASAN_GUI_TESTS) || rc=1; \
	fi; \
	exit $$rc

# Runs both test runs even when the first fails, so that one `make check`
# reports every failure; fails if either did.
check: deps
	@rc=0; \
	$(MAKE) --no-print-directory test || rc=1; \
	$(MAKE) --no-print-directory test-asan || rc=1; \
	if [ $$rc -ne 0 ]; then echo "make check: FAILED (see above)"; fi; \
	exit $$rc

SERVER_EXE := $(BUILDDIR)/signaling-server/palaver-server

# A local server and a call in room `demo` (data/demo.sh): two peers, with
# real audio and video output when there is a display.
demo: build
	@exec data/demo.sh $(BUILDDIR) $(HOST) $(PORT)

# The server benchmark (bench/README.md): palaver-server against the Node
# relay, every phase, about 16 minutes.
bench: deps-bench build
	NODE_PATH=/usr/share/nodejs python3 bench/run.py --build-dir $(BUILDDIR)

# The call benchmark (bench/call/README.md): about 15 minutes.
bench-call: build
	python3 bench/call/run.py

# Palaver against Chromium and Firefox (bench/interop/README.md): setup and
# CPU per peer side by side, about 25 minutes; needs root (a network
# namespace) and the interop suite's browser drivers.
bench-interop: build interop-deps
	python3 bench/interop/run.py --build-dir $(BUILDDIR)

clean:
	rm -rf $(BUILDDIR) $(ASANDIR)
