# Thin wrapper over CMake. `make demo` and `make check` are the two set-up
# commands: each installs missing Debian packages first.
#   make                 build (build/bin/modffi, build/lib/libmodffi.{so,a})
#   make check           build and run the test suite
#   make check SANITIZE=1  the same under ASan+UBSan (in build-san/)
#   make check TSAN=1    the same under ThreadSanitizer (in build-tsan/)
#   make demo            build and run the demo
#   make fuzz            build the libFuzzer targets with clang (build-fuzz/)
#   make bench           build and run the benchmarks
#   make install PREFIX=/usr/local
#   make uninstall       remove what the last install put there
PREFIX ?= /usr/local
JOBS ?= 2
ifeq ($(SANITIZE),1)
BUILD ?= build-san
CMAKE_FLAGS += -DMFFI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
else ifeq ($(TSAN),1)
BUILD ?= build-tsan
CMAKE_FLAGS += -DMFFI_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
else
BUILD ?= build
CMAKE_FLAGS += -DCMAKE_BUILD_TYPE=RelWithDebInfo
endif

.PHONY: all deps build check demo fuzz bench install uninstall clean

all: build

deps:
	@sh scripts/install-deps.sh build test

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

check: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo:
	@sh scripts/install-deps.sh build test demo
	@$(MAKE) --no-print-directory build
	@sh scripts/demo.sh $(BUILD)

fuzz:
	@sh scripts/install-deps.sh build fuzz
	@CC=clang cmake -S . -B build-fuzz -DMFFI_FUZZ=ON -DMFFI_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@echo "run: build-fuzz/bin/fuzz_cdef -max_total_time=600 fuzz/corpus/cdef"

bench: build
	@sh scripts/bench.sh $(BUILD)

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# Exactly the files CMake's install wrote (its manifest), then the
# directories of modffi's own that this leaves empty.
uninstall:
	@sh scripts/uninstall.sh $(BUILD)/install_manifest.txt

clean:
	rm -rf build build-san build-tsan build-fuzz
