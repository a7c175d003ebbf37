# SPDX-License-Identifier: GPL-2.0
# The baseline of the call benchmark (kunit/baseline.h).
lunatik-y += kunit/baseline.o
