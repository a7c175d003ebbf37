# SPDX-License-Identifier: GPL-2.0
# The netfilter library's shims (luanetfilter/*.h) and linux.nf's
# constants, from the netfilter headers of the kernel the module is built
# against (luanetfilter/constants.rs); rewritten only when they change.
lunatik-y += luanetfilter/netfilter.o luanetfilter/write.o luanetfilter/device.o \
	build/nf_constants.o

filechk_nf_constants = $(CONFIG_SHELL) $(src)/scripts/nf-constants.sh $(srctree)
$(obj)/build/nf_constants.c: $(src)/scripts/nf-constants.sh FORCE
	$(call filechk,nf_constants)
