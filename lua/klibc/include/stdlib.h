/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LUNATIK_STDLIB_H
#define LUNATIK_STDLIB_H
#include <linux/types.h>
#include <linux/math.h>	/* abs() */
#define EXIT_SUCCESS	0
#define EXIT_FAILURE	1
void *realloc(void *p, size_t n);
void free(void *p);
void abort(void) __attribute__((noreturn));
char *getenv(const char *name);
#endif
