-- examples/scanblock/xdp.lua: the scan blocker of scanblock.lua with its
-- drops at XDP: the packets of blocked addresses are dropped by the
-- device's driver, before the kernel builds an skb for them. The walk,
-- its settings and its counts are examples/scanblock/common.lua's.
-- Run it in a softirq state named "scanblock" in the namespace to
-- protect and attach the eBPF half to each device to guard:
--
--   lunatik run examples/scanblock/xdp softirq --name scanblock
--   lunatik xdp attach eth0 /lib/bpf/scanblock.o
--
-- The eBPF program (luaxdp/bpf/scanblock.bpf.c) hands every IPv4 frame
-- to the function attached here, the IPv4 header at offset 14 (after
-- the Ethernet header). XDP sees only what devices receive, so the
-- outcomes of the attempts, this host's answers, are still read by a
-- netfilter hook at LOCAL_OUT, in the same state: both write and read
-- the same rcu tables, and the drop decision needs nothing else.
local xdp = require("xdp")
local action = require("linux.xdp")
local nf = require("linux.nf")
local netfilter = require("netfilter")
local scan = require("examples.scanblock.common")

xdp.attach(function(packet)
	return scan.blocked(packet, 14) and action.DROP or action.PASS
end)
netfilter.register{hook = scan.answers, pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_OUT,
	priority = nf.ip.pri.FILTER, failopen = true}
