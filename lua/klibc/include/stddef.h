/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LUNATIK_STDDEF_H
#define LUNATIK_STDDEF_H
#include <linux/stddef.h>
#include <linux/types.h>
#endif
