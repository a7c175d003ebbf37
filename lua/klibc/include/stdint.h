/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LUNATIK_STDINT_H
#define LUNATIK_STDINT_H
#include <linux/types.h>
#include <linux/limits.h>
typedef long intptr_t;
#endif
