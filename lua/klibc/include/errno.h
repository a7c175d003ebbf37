/* SPDX-License-Identifier: GPL-2.0 */
/* One errno for the whole module: Lua reads it only after failed file
 * operations, which the kernel build never performs (fopen always fails). */
#ifndef LUNATIK_ERRNO_H
#define LUNATIK_ERRNO_H
#include <linux/errno.h>
extern int lunatik_errno;
#define errno lunatik_errno
#endif
