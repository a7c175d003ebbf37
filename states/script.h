/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of states/script.c (script files for `require`, under
 * /lib/modules/lua), declared once; states/script.rs mirrors them.
 */
#ifndef LUNATIK_SCRIPT_H
#define LUNATIK_SCRIPT_H

#include <linux/types.h>

struct file;
struct file *lunatik_script_open(const char *rel);
loff_t lunatik_script_size(struct file *file);

#endif /* LUNATIK_SCRIPT_H */
