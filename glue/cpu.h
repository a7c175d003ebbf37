/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of glue/cpu.c (CPU topology and scheduling), declared once;
 * glue/cpu.rs mirrors them.
 */
#ifndef LUNATIK_CPU_H
#define LUNATIK_CPU_H

#include <linux/types.h>

unsigned int lunatik_num_possible_cpus(void);
bool lunatik_cpu_possible(unsigned int cpu);
void lunatik_cond_resched(void);

#endif /* LUNATIK_CPU_H */
