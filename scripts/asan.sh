#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# asan.sh: the host tests of lua/ (the host build of the module's Lua,
# and the core-only Rust driving it) under AddressSanitizer and
# UndefinedBehaviorSanitizer, with the Lua API fuzzer at 1,000,000 calls;
# then the negative controls: two tests that overflow a Lua-allocated
# block on purpose, one from Lua's C and one from Rust, each of which must
# die with an ASan "heap-buffer-overflow" report. Run by `make asan`.
#
# Lua's C gets -fsanitize=address,undefined from lua/build.rs when
# LUNATIK_SANITIZE=1. The Rust side is instrumented by rustc's
# -Zsanitizer=address, which also links the sanitizer runtime (whose ASan
# library carries the UBSan handlers the C needs). That flag is unstable;
# RUSTC_BOOTSTRAP=1 lets the project's stable rustc accept it instead of
# requiring a second, nightly, toolchain. That is acceptable here because
# this build only runs tests: its output lives in its own target directory
# (target/asan), ships nowhere, and never meets the module build, which
# stays on stable features. --target is explicit so that RUSTFLAGS reach
# only the test crate, not build scripts and proc macros.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

host=$(rustc -vV | sed -n 's/^host: //p')
export LUNATIK_SANITIZE=1 RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address"
export CARGO_TARGET_DIR=$repo/target/asan
# Reports name functions and lines when the LLVM symbolizer is there (the
# kernel toolchain brings it).
for s in llvm-symbolizer llvm-symbolizer-19; do
	if command -v "$s" >/dev/null; then
		export ASAN_SYMBOLIZER_PATH
		ASAN_SYMBOLIZER_PATH=$(command -v "$s")
		break
	fi
done
test_cmd=(cargo test --locked -p lunatik-lua --target "$host")

echo "==> host tests of lunatik-lua under ASan and UBSan"
LUNATIK_FUZZ_CALLS=${LUNATIK_FUZZ_CALLS:-1000000} "${test_cmd[@]}"

# control TEST WHAT: runs the ignored test TEST alone; it must fail with an
# ASan heap-buffer-overflow report, or the sanitizer is not doing its job.
control() {
	local log=$CARGO_TARGET_DIR/control-$1.log
	if "${test_cmd[@]}" --lib -- --ignored --exact "sanitizer_tests::$1" >"$log" 2>&1; then
		echo "error: $1 passed: ASan did not catch an overflow in $2 ($log)" >&2
		exit 1
	fi
	if ! grep -q "ERROR: AddressSanitizer: heap-buffer-overflow" "$log"; then
		echo "error: $1 failed without an ASan heap-buffer-overflow report ($log):" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	echo "==> negative control: an overflow in $2 is caught ($(grep -m1 -o '#0 0x[0-9a-f]* in [^ ]*' "$log" | sed 's/.* in //'))"
}
control asan_catches_overflow_in_lua_c "Lua's C"
control asan_catches_overflow_in_rust "Rust"
