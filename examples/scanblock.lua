-- scanblock.lua: blocks port scanners with a Threshold Random Walk over
-- the outcomes of the connection attempts each remote address makes to
-- this host (examples/scanblock/common.lua has the walk, its settings
-- and its counts). Run it in a softirq state in the namespace to
-- protect, with the examples installed under /lib/modules/lua (make
-- install):
--
--   lunatik run scanblock.lua softirq
--
-- This is the netfilter path: the packets of blocked addresses are
-- dropped at PRE_ROUTING, before anything else sees them, and the
-- outcomes are read at LOCAL_OUT. examples/scanblock/xdp.lua drops them
-- at XDP instead, with the same walk.
local nf = require("linux.nf")
local netfilter = require("netfilter")
local scan = require("examples.scanblock.common")

local function incoming(skb)
	return scan.blocked(skb:data("net"), 0) and nf.action.DROP or nf.action.ACCEPT
end

netfilter.register{hook = incoming, pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
	priority = nf.ip.pri.FIRST}
netfilter.register{hook = scan.answers, pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_OUT,
	priority = nf.ip.pri.FILTER, failopen = true}
