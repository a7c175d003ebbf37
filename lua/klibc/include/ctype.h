/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LUNATIK_CTYPE_H
#define LUNATIK_CTYPE_H
#include <linux/ctype.h>
#endif
