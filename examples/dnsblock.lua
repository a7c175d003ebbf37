-- dnsblock.lua: drops DNS queries for blocked names and their subdomains.
-- Run it in a softirq state in the namespace of the DNS server (or of
-- the clients, with hooknum = nf.inet.LOCAL_OUT):
--
--   lunatik run dnsblock.lua softirq
--   lunatik exec dnsblock -e 'require("rcu").table("dns.blocklist")["ads.example"] = true'
--
-- A query for ads.example or any name under it (x.ads.example) is
-- dropped; `return queries, blocked` reads the counts.
local nf = require("linux.nf")
local netfilter = require("netfilter")
local byteorder = require("byteorder")
local blocklist = require("rcu").table("dns.blocklist")

queries, blocked = 0, 0

-- The lower-cased labels of the first question of the DNS message at
-- `off`, or nil if it is not a well-formed query.
local function question(d, off)
	if #d < off + 12 or d:getuint8(off + 2) & 0x80 ~= 0 then return nil end
	if byteorder.ntoh16(d:getuint16(off + 4)) < 1 then return nil end
	local labels, p = {}, off + 12
	while p < #d do
		local n = d:getuint8(p)
		if n == 0 then return labels end
		if n > 63 or p + 1 + n > #d or #labels == 127 then return nil end
		labels[#labels + 1] = d:getstring(p + 1, n):lower()
		p = p + 1 + n
	end
	return nil
end

local function filter(skb)
	local d = skb:data("net")
	if #d < 28 then return nf.action.ACCEPT end
	local b0 = d:getuint8(0)
	if b0 >> 4 ~= 4 or d:getuint8(9) ~= 17 then return nf.action.ACCEPT end
	local udp = (b0 & 0x0f) * 4
	if #d < udp + 8 or byteorder.ntoh16(d:getuint16(udp + 2)) ~= 53 then
		return nf.action.ACCEPT
	end
	local labels = question(d, udp + 8)
	if not labels then return nf.action.ACCEPT end
	queries = queries + 1
	for i = 1, #labels do
		if blocklist[table.concat(labels, ".", i)] then
			blocked = blocked + 1
			return nf.action.DROP
		end
	end
	return nf.action.ACCEPT
end

netfilter.register{
	hook = filter,
	pf = nf.proto.IPV4,
	hooknum = nf.inet.PRE_ROUTING,
	priority = nf.ip.pri.FILTER,
}
