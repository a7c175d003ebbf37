// SPDX-License-Identifier: GPL-2.0
/*
 * CPU topology helpers for the Rust side: macros and inline functions have
 * no symbol, so each one gets an exported-to-Rust wrapper here.
 */
#include <linux/cpumask.h>
#include <linux/sched.h>

#include "cpu.h"

unsigned int lunatik_num_possible_cpus(void)
{
	return num_possible_cpus();
}

bool lunatik_cpu_possible(unsigned int cpu)
{
	return cpu < nr_cpu_ids && cpu_possible(cpu);
}

void lunatik_cond_resched(void)
{
	cond_resched();
}
