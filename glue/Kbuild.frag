# SPDX-License-Identifier: GPL-2.0
# The kernel glue's C shims (glue/cpu.h, glue/lock.h).
lunatik-y += glue/cpu.o glue/lock.o
