# bnfile: build, test, benchmark and demo.
SWIFT ?= swift
PYTHON ?= python3
BIN := .build/release/bnfile
# Release builds are tuned for Haswell-class x86-64 processors (AVX2, FMA; 2013 and
# later) from the command line, not in the manifest, so that other packages can depend
# on the libraries; `make TUNING=` builds for any x86-64. Results are identical either
# way (README, "CPU tuning").
ifeq ($(shell uname -m),x86_64)
TUNING ?= -Xswiftc -target-cpu -Xswiftc haswell
endif
# The release binary links the Swift runtime and Foundation (which BigInt imports) into
# itself: a dynamically linked bnfile spends about 7 ms of each process resolving
# symbols of shared libraries, a tax on every file of a Makefile that runs it per file
# (README, "Startup"). `make LINKING=` links them dynamically.
LINKING ?= --static-swift-stdlib
RELEASE_BUILD = $(SWIFT) build -c release $(TUNING) $(LINKING)

.PHONY: all build test test-release bench demo fixtures clean fuzz sanitize

all: build

build:
	$(RELEASE_BUILD) --product bnfile

# Debug build of everything, then every test (unit, interop with numpy, CLI).
test:
	$(SWIFT) build
	$(SWIFT) test

# The Python side's tests (python/): the torch capture helper's, with an interpreter that
# has torch and pytest, and the framework exporters', run in the interpreters named by
# TF_PYTHON (tensorflow, keras, tf_keras) and JAX_PYTHON (jax, flax, keras):
#   make test-torch PYTHON=/path/to/venv-with-torch/bin/python [TF_PYTHON=...] [JAX_PYTHON=...]
# Tests whose framework is missing are skipped.
.PHONY: test-torch
test-torch:
	$(PYTHON) -m pytest python/

# The optimized binary against the oracle's fixtures, bit for bit, with 1 to 3 threads,
# then the engine's own tests compiled as users' builds are (optimized and tuned; twice
# a fault showed only there), then the demo: what users run, which the debug tests
# above do not build.
test-release: build
	$(PYTHON) scripts/release_fixtures.py $(BIN)
	$(SWIFT) test -c release -Xswiftc -enable-testing $(TUNING) --scratch-path .build-release-tests \
	  --filter ExactBatchNormTests
	$(MAKE) demo

# Every test again under address sanitizer, then thread sanitizer, each in its own
# build folder so neither clobbers the normal debug build.
# Leaks inside the toolchain's own libraries are suppressed (fuzz/lsan-suppressions.txt);
# a leak in our code, in the tests or in a bnfile the CLI tests run, still fails.
sanitize:
	$(SWIFT) build --sanitize=address --scratch-path .build-asan
	BNFILE_SANITIZED=1 LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan-suppressions.txt BNFILE_BIN=$(CURDIR)/.build-asan/debug/bnfile \
	  $(SWIFT) test --sanitize=address --scratch-path .build-asan
	$(SWIFT) build --sanitize=thread --scratch-path .build-tsan
	BNFILE_SANITIZED=1 BNFILE_BIN=$(CURDIR)/.build-tsan/debug/bnfile $(SWIFT) test --sanitize=thread --scratch-path .build-tsan

# libFuzzer targets for the NumPyFormat readers (fuzz/targets/*.swift), each run for
# FUZZ_SECONDS from seeds that numpy writes plus the known bad inputs and crashers.
# Findings land in .build-fuzz/crash-*; fix them and copy the input to fuzz/crashers/.
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build-fuzz
FUZZ_TARGETS := npy npz inflate run
NUMPYFORMAT_SOURCES := $(shell find Sources/NumPyFormat -name '*.swift')
FUZZ_SOURCES := $(NUMPYFORMAT_SOURCES) fuzz/FuzzSupport.swift

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
	$(PYTHON) fuzz/make_corpus.py $(FUZZ_DIR)/seeds
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  $(FUZZ_DIR)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
	    $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t fuzz/crashers/$$t; \
	done

# The run target drives the whole `bnfile run` path, so it links the engine and its
# packages (from SwiftPM's checkouts, fetched by `swift package resolve`) as static
# libraries, and compiles the tool's run files unchanged beside its entry.
FUZZ_LIB := $(FUZZ_DIR)/lib
CHECKOUTS := .build/checkouts
FUZZ_RUN_SOURCES := Sources/bnfile/RunJob.swift Sources/bnfile/AtomicOutput.swift \
  fuzz/RunSupport.swift fuzz/FuzzSupport.swift
# The archive is removed first: ar adds to an existing one, and the objects of a source
# file since renamed or removed would stay in it and clash at the link.
FUZZ_LIBRARY = rm -f $(FUZZ_LIB)/lib$(1).a && swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name bnfile \
  -emit-library -static -I $(FUZZ_LIB) -emit-module-path $(FUZZ_LIB)/$(1).swiftmodule -module-name $(1) \
  -o $(FUZZ_LIB)/lib$(1).a
NUMERICS := $(CHECKOUTS)/swift-numerics/Sources

$(CHECKOUTS)/BigInt/Sources $(NUMERICS)/RealModule:
	$(SWIFT) package resolve

$(FUZZ_LIB)/libBigInt.a: | $(CHECKOUTS)/BigInt/Sources
	@mkdir -p $(FUZZ_LIB)
	$(call FUZZ_LIBRARY,BigInt) "$(CHECKOUTS)/BigInt/Sources/"*.swift

$(FUZZ_LIB)/libRealModule.a: | $(NUMERICS)/RealModule
	@mkdir -p $(FUZZ_LIB)
	$(call FUZZ_LIBRARY,RealModule) -I $(NUMERICS)/_NumericsShims/include $(NUMERICS)/RealModule/*.swift

ENGINE_SOURCES := $(shell find Sources/ExactBatchNorm -name '*.swift')
$(FUZZ_LIB)/libExactBatchNorm.a: $(ENGINE_SOURCES) $(FUZZ_LIB)/libBigInt.a $(FUZZ_LIB)/libRealModule.a
	$(call FUZZ_LIBRARY,ExactBatchNorm) -I $(NUMERICS)/_NumericsShims/include -I Sources/CMultiplyAdd/include -I Sources/CSystemCalls/include \
	  -I Sources/CWorkerPool/include $(ENGINE_SOURCES)

$(FUZZ_LIB)/libNumPyFormat.a: $(NUMPYFORMAT_SOURCES)
	@mkdir -p $(FUZZ_LIB)
	$(call FUZZ_LIBRARY,NumPyFormat) -I Sources/CZlib -I Sources/CFoldedCRC/include -I Sources/CSystemCalls/include $^

$(FUZZ_LIB)/libArrayComparison.a: $(shell find Sources/ArrayComparison -name '*.swift')
	@mkdir -p $(FUZZ_LIB)
	$(call FUZZ_LIBRARY,ArrayComparison) $^

FILES_SOURCES := $(shell find Sources/BatchNormFiles -name '*.swift')
$(FUZZ_LIB)/libBatchNormFiles.a: $(FILES_SOURCES) $(FUZZ_LIB)/libNumPyFormat.a $(FUZZ_LIB)/libExactBatchNorm.a \
  $(FUZZ_LIB)/libArrayComparison.a $(FUZZ_LIB)/libRealModule.a
	$(call FUZZ_LIBRARY,BatchNormFiles) -I Sources/CZlib -I Sources/CFoldedCRC/include \
	  -I $(NUMERICS)/_NumericsShims/include -I Sources/CMultiplyAdd/include -I Sources/CSystemCalls/include \
	  -I Sources/CWorkerPool/include $(FILES_SOURCES)

$(FUZZ_DIR)/fuzz-run: fuzz/targets/run.swift $(FUZZ_RUN_SOURCES) $(FUZZ_DIR)/folded_crc32.o $(FUZZ_DIR)/worker_pool.o \
  $(FUZZ_LIB)/libNumPyFormat.a $(FUZZ_LIB)/libExactBatchNorm.a $(FUZZ_LIB)/libBatchNormFiles.a
	swiftc -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld -module-name FuzzRun -package-name bnfile -D FUZZ_RUN \
	  -I $(FUZZ_LIB) -I Sources/CZlib -I Sources/CFoldedCRC/include -I $(NUMERICS)/_NumericsShims/include \
	  -I Sources/CMultiplyAdd/include -I Sources/CSystemCalls/include -I Sources/CWorkerPool/include \
	  -L $(FUZZ_LIB) -lBatchNormFiles -lArrayComparison -lNumPyFormat -lExactBatchNorm -lBigInt -lRealModule -lz \
	  $(FUZZ_RUN_SOURCES) $(FUZZ_DIR)/folded_crc32.o $(FUZZ_DIR)/worker_pool.o $< -o $@

$(FUZZ_DIR)/fuzz-%: fuzz/targets/%.swift $(FUZZ_SOURCES) $(FUZZ_DIR)/folded_crc32.o
	swiftc -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld -module-name NumPyFormat \
	  -I Sources/CZlib -I Sources/CFoldedCRC/include -I Sources/CSystemCalls/include -lz $(FUZZ_SOURCES) $(FUZZ_DIR)/folded_crc32.o $< -o $@

$(FUZZ_DIR)/folded_crc32.o: Sources/CFoldedCRC/folded_crc32.c Sources/CFoldedCRC/include/CFoldedCRC.h
	@mkdir -p $(FUZZ_DIR)
	clang -c -O2 -g -fsanitize=address -I Sources/CFoldedCRC/include $< -o $@

$(FUZZ_DIR)/worker_pool.o: Sources/CWorkerPool/worker_pool.c Sources/CWorkerPool/include/CWorkerPool.h
	@mkdir -p $(FUZZ_DIR)
	clang -c -O2 -g -fsanitize=address -I Sources/CWorkerPool/include $< -o $@

# Benchmarks beside numpy and (if PYTHON can import it) torch, as ratios from one run:
#   make bench PYTHON=/path/to/venv-with-torch/bin/python
bench:
	$(RELEASE_BUILD) --product bnfile
	$(RELEASE_BUILD) --product bnbench
	$(PYTHON) scripts/bench.py $(BENCH_ARGS)
	$(PYTHON) scripts/bench_check.py --bin $(BIN)

# `make demo`: the notebook's case through the README's pattern rule, then diffed
# against torch's results stored beside it. With --inputs, diff judges each side against
# the exact result and exits 1 only when a side is beyond rounding, so the demo fails on
# a real error (in bnfile or in torch) but not on torch's rounding noise: its dx and
# dgamma are ~1e-6 where the truth, which bnfile writes, is exactly 0.
DEMO := build/demo

demo: $(DEMO)/notebook.grads.npz
	$(BIN) diff $< data/notebook.torch.npz --inputs data/notebook.npz
	@echo "demo: no side is beyond rounding (A = bnfile, B = torch); where they differ above, torch is off by rounding noise"

# The README's pattern rule: exact results for IN.npz in IN.grads.npz. bnfile writes $@
# atomically and exits non-zero on any error, so make -j is safe and a rerun after a
# failure redoes exactly the missing files (no .DELETE_ON_ERROR needed).
%.grads.npz: %.npz
	$(BIN) run $< $@

# The demo works on a copy of the input, so its output stays in the git-ignored build/.
$(DEMO)/notebook.npz: data/notebook.npz
	@mkdir -p $(@D)
	cp $< $@

# Results depend on the binary; swift build relinks only when a source changed, and
# make re-reads the binary's time afterwards, so only a new binary redoes them.
$(DEMO)/notebook.grads.npz: $(BIN)
$(BIN): FORCE
	$(RELEASE_BUILD) --product bnfile
FORCE:

clean:
	rm -rf .build build/demo .build-asan .build-tsan $(FUZZ_DIR)
