# SPDX-License-Identifier: GPL-2.0
# The baseline of the call benchmark (kunit/baseline.h), linked only when
# the benchmarks are compiled (kunit/, `#[cfg(CONFIG_KUNIT)]`): the bench
# and selftest kernels, never a kernel without KUnit.
lunatik-$(CONFIG_KUNIT) += kunit/baseline.o
