# SPDX-License-Identifier: GPL-2.0
# The control plane's netlink helpers (control/netlink.h) and the family's
# policies and ops, generated from netlink/lunatik.yaml by the kernel's
# YNL generator (scripts/ynl.sh); the latter include its uAPI header as
# <uapi/linux/lunatik.h>.
lunatik-y += control/netlink.o netlink/lunatik-nl-gen.o
CFLAGS_netlink/lunatik-nl-gen.o += -I$(src)/netlink
