// SPDX-License-Identifier: GPL-2.0
/*
 * The few libc functions the Lua core and its standard libraries call, for
 * the kernel. Files are out of reach (fopen always fails): scripts reach the
 * file system only through the module's own require.
 */
#include <linux/bug.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/slab.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "luaconf.h"	/* declares the lunatik_* hooks defined here */

int lunatik_errno;

FILE *fopen(const char *path, const char *mode)
{
	lunatik_errno = ENOENT;
	return NULL;
}

FILE *freopen(const char *path, const char *mode, FILE *f)
{
	lunatik_errno = ENOENT;
	return NULL;
}

int fclose(FILE *f)
{
	return EOF;
}

int getc(FILE *f)
{
	return EOF;
}

size_t fread(void *p, size_t size, size_t n, FILE *f)
{
	return 0;
}

int ferror(FILE *f)
{
	return 1;
}

int feof(FILE *f)
{
	return 1;
}

const char *lunatik_strerror(int e)
{
	return e == ENOENT ? "No such file or directory" : "I/O error";
}

char *getenv(const char *name)
{
	return NULL;
}

/*
 * Used only by luaL_newstate's default allocator; the module gives every
 * state its own accounting allocator, so these serve no state it creates.
 */
void *realloc(void *p, size_t n)
{
	if (n == 0) {
		kfree(p);
		return NULL;
	}
	return krealloc(p, n, GFP_KERNEL);
}

void free(void *p)
{
	kfree(p);
}

/*
 * Lua aborts only on an error raised outside any protected call. Every entry
 * from the module into Lua is protected, so reaching this is a module bug.
 */
void abort(void)
{
	BUG();
}

void lunatik_writestring(const char *s, unsigned long len)
{
	pr_cont("%.*s", (int)len, s);
}

void lunatik_writestringerror(const char *fmt, const char *p)
{
	pr_warn("lua: %s", p);
}

unsigned int lunatik_makeseed(void)
{
	return get_random_u32();
}
