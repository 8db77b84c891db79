#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds Corral and runs every test: unit, golden, integration (real corrald, virsh,
# python3-libvirt) and a bounded run of each libFuzzer target. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=$(nproc)
cmake --preset ci >/dev/null
cmake --build build -j "$jobs"

# Fuzz targets: clang + libFuzzer, a separate build tree; each target runs for a bounded time.
fuzz_seconds=${CORRAL_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ] && [ -f tests/fuzz/CMakeLists.txt ]; then
    cmake --preset fuzz >/dev/null
    cmake --build build-fuzz -j "$jobs" --target fuzz_all
    for target in build-fuzz/bin/fuzz/*; do
        [ -x "$target" ] || continue
        name=$(basename "$target")
        corpus="build-fuzz/corpus/$name"
        mkdir -p "$corpus"
        # Seeds live in the repo; what the fuzzer learns stays in the build tree.
        if [ -d "tests/fuzz/corpus/${name#fuzz_}" ]; then
            cp -n tests/fuzz/corpus/"${name#fuzz_}"/* "$corpus"/ 2>/dev/null || true
        fi
        echo "fuzz: $(basename "$target") for ${fuzz_seconds}s"
        "$target" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" 2>build-fuzz/"$(basename "$target")".log \
            || { tail -40 build-fuzz/"$(basename "$target")".log; exit 1; }
    done
fi

# libvirt's own test definitions, for the corpus test (tests/unit/drivers/libvirt_corpus_test.cpp).
bash scripts/fetch-libvirt-corpus.sh build/libvirt-corpus

status=0
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 1500 || status=$?

# The integration counts and the reason of every skip, last, whatever happened above (each test
# file's run wrote its outcomes; a skip not in tests/integration/allowed_skips.txt failed it).
echo
/usr/bin/python3 tests/integration/summarize.py build/integration-results || true
exit "$status"
