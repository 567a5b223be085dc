# bnfile: build, test, benchmark and demo.
SWIFT ?= swift
PYTHON ?= python3
BIN := .build/release/bnfile

.PHONY: all build test bench demo fixtures clean

all: build

build:
	$(SWIFT) build -c release --product bnfile

# Debug build of everything, then every test (unit, interop with numpy, CLI).
test:
	$(SWIFT) build
	$(SWIFT) test

clean:
	rm -rf .build
