# SPDX-License-Identifier: GPL-2.0
# The `linux` library's shims (lualinux/linux.h).
lunatik-y += lualinux/linux.o
