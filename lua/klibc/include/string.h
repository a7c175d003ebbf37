/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LUNATIK_STRING_H
#define LUNATIK_STRING_H
#include <linux/string.h>
#define strcoll(a, b)	strcmp((a), (b))
const char *lunatik_strerror(int e);
#define strerror(e)	lunatik_strerror(e)
#endif
