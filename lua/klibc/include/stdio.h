/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough stdio for Lua: snprintf from the kernel, and file functions
 * that always fail, since scripts reach files only through the module.
 */
#ifndef LUNATIK_STDIO_H
#define LUNATIK_STDIO_H
#include <linux/kernel.h>
#include <linux/sprintf.h>
#define EOF	(-1)
/* Only luaL_loadfilex (unused: files are out of reach) sizes a buffer with it. */
#define BUFSIZ	64
typedef struct lunatik_file FILE;
#define stdin	((FILE *)0)
#define stdout	((FILE *)0)
#define stderr	((FILE *)0)
FILE *fopen(const char *path, const char *mode);
FILE *freopen(const char *path, const char *mode, FILE *f);
int fclose(FILE *f);
int getc(FILE *f);
size_t fread(void *p, size_t size, size_t n, FILE *f);
int ferror(FILE *f);
int feof(FILE *f);
#endif
