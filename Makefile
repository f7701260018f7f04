# Strata's entry points. `make demo` and `make test` work on a fresh Debian machine with Swift installed:
# they install the Debian packages Strata needs (only those missing), then build in release.
# Release always: SwiftPM compiles C targets at -O0 in debug builds, 80x slower kernels.

SWIFT        ?= swift
APT_PACKAGES := libgdal-dev libhdf5-dev gdal-bin hdf5-tools pkg-config zlib1g-dev
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# XCTest only: Swift Testing would close the log with "0 tests" after the XCTest summary.
TEST_FLAGS   := -c release -Xswiftc -enable-testing
DEMO_OUT     ?= demo-output

.PHONY: deps build demo test bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c release

demo: build
	.build/release/strata demo --out $(DEMO_OUT)

test: deps
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-swift-testing

bench: build
	.build/release/strata bench kernels --json

clean:
	rm -rf .build $(DEMO_OUT)
