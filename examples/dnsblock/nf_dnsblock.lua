-- examples/dnsblock/nf_dnsblock.lua: drops the DNS queries this
-- namespace sends over IPv4 for blocked names (examples/dnsblock/common.lua
-- says which), before they leave: a hook on LOCAL_OUT (proto.INET: IPv6
-- packets reach it too, and pass).
--
--   lunatik run examples/dnsblock/nf_dnsblock softirq
--
-- Written for upstream Lunatik's interface (its module names, constant
-- tables and register fields), which lunatik-rs runs as it is.
local netfilter = require("netfilter")
local nf = require("linux.nf")
local common = require("examples.dnsblock.common")

local function hook(skb)
	local pkt = skb:data() -- the network header: "net" by default
	if #pkt < 20 or pkt:getuint8(0) >> 4 ~= 4 then
		return nf.action.ACCEPT
	end
	local proto = pkt:getuint8(9)
	local thoff = (pkt:getuint8(0) & 0x0f) * 4
	if common.hook(pkt, thoff, proto) then
		return nf.action.DROP
	end
	return nf.action.ACCEPT
end

netfilter.register{
	hook = hook,
	pf = nf.proto.INET,
	hooknum = nf.inet.LOCAL_OUT,
	priority = nf.ip.pri.FILTER,
}
