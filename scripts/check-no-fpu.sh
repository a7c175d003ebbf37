#!/usr/bin/env bash
# check-no-fpu.sh MODULE.ko: fails if the module's code holds any x87, MMX,
# SSE or AVX instruction. The kernel does not save FPU state for kernel
# code, so Lua's integer-only build must compile to none
# (docs/architecture.md, "Lua in the kernel"); a float creeping in
# through a macro would corrupt user processes' FPU registers.
# check-no-fpu.sh --self-test: proves the check catches an SSE instruction.
set -euo pipefail
. "$(dirname "$0")/env.sh"
objdump=llvm-objdump$LLVM_SUFFIX

# Register operands are the reliable sign: %st, %mm, %xmm, %ymm, %zmm;
# x87 mnemonics (f...) catch the memory-operand forms.
fpu_lines() {
	"$objdump" -d --no-show-raw-insn "$1" |
		grep -E '%(st|mm[0-7]|[xyz]mm[0-9]+)\b|^\s+[0-9a-f]+:\s+f(ld|st|stp|ild|ist|istp|add|sub|mul|div|xch|cos|sin|sqrt|nstenv|ldenv|xsave|xrstor|cmov|comi|ucomi|init|ninit|wait)[a-z]*\s' || true
}

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf 'double f(double a, double b) { return a * b; }\n' >"$tmp/f.c"
	"clang$LLVM_SUFFIX" -O2 -c "$tmp/f.c" -o "$tmp/f.o"
	[ -n "$(fpu_lines "$tmp/f.o")" ] || die "self-test: the check missed the SSE code of f.o"
	printf 'long g(long a, long b) { return a * b; }\n' >"$tmp/g.c"
	"clang$LLVM_SUFFIX" -O2 -c "$tmp/g.c" -o "$tmp/g.o"
	[ -z "$(fpu_lines "$tmp/g.o")" ] || die "self-test: the check flagged integer code"
	log "no-FPU check self-test passed"
	exit 0
fi

ko=${1:?usage: check-no-fpu.sh MODULE.ko | --self-test}
found=$(fpu_lines "$ko")
if [ -n "$found" ]; then
	echo "$found" | head -20 >&2
	die "$ko holds FPU/SIMD instructions ($(echo "$found" | wc -l) lines)"
fi
log "$ko: no x87/MMX/SSE/AVX instruction"
