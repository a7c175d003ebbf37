/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of lunatik.ko: every function the Rust crate calls in the C
 * shims is declared here, once. The Rust side mirrors each declaration in a
 * single `extern "C"` block next to its safe wrapper.
 */
#ifndef LUNATIK_SHIM_H
#define LUNATIK_SHIM_H

/* rust/cpu.c */
unsigned int lunatik_num_possible_cpus(void);

#endif /* LUNATIK_SHIM_H */
