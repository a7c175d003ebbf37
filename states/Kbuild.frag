# SPDX-License-Identifier: GPL-2.0
# Script files for `require` (states/script.h).
lunatik-y += states/script.o
