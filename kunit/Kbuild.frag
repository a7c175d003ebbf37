# SPDX-License-Identifier: GPL-2.0
# The baseline of the call benchmark (kunit/baseline.h), linked only when
# the benchmarks are compiled: in the module `make bench` builds
# (LUNATIK_BENCH=1, Kbuild's `--cfg lunatik_bench`) against a kernel with
# KUnit built in (kunit/, `#[cfg(CONFIG_KUNIT)]`, which a modular KUnit
# does not set). Never in the module `make` builds or installs.
ifeq ($(LUNATIK_BENCH)$(CONFIG_KUNIT),1y)
lunatik-y += kunit/baseline.o
endif
