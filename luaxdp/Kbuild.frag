# SPDX-License-Identifier: GPL-2.0
# The XDP kfuncs, C for their BTF (luaxdp/luaxdp.h). The eBPF programs of
# luaxdp/bpf are built by `make bpf`, not into the module.
lunatik-y += luaxdp/kfunc.o
