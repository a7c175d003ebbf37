/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LUNATIK_LIMITS_H
#define LUNATIK_LIMITS_H
#include <linux/limits.h>
#define CHAR_BIT	8
#endif
