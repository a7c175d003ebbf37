/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forced into every C file of an upstream Lunatik checkout built by
 * scripts/upstream.sh for `make bench LUNATIK_UPSTREAM=...`: what older
 * upstream releases call and kernel 7.3 no longer has. Our own code, not
 * upstream's; nothing here changes what the checkout's code does.
 */
#ifndef LUNATIK_BENCH_UPSTREAM_COMPAT_H
#define LUNATIK_BENCH_UPSTREAM_COMPAT_H
#ifndef __ASSEMBLY__

/* strncpy() left the kernel (7.x); this is its C library definition. */
static inline char *lunatik_bench_strncpy(char *dst, const char *src, __SIZE_TYPE__ n)
{
	__SIZE_TYPE__ i = 0;

	for (; i < n && src[i] != '\0'; i++)
		dst[i] = src[i];
	for (; i < n; i++)
		dst[i] = '\0';
	return dst;
}
#define strncpy lunatik_bench_strncpy

#endif
#endif
