-- useragent.lua: drops HTTP requests whose User-Agent is on a blocklist,
-- the NFLua use case. Run it in a softirq state in the namespace of the
-- web server:
--
--   lunatik run useragent.lua softirq
--
-- The blocklist is the shared rcu table "useragent.blocklist", keyed by
-- the User-Agent's product (the text before the first '/' or space):
-- update it while traffic flows with
--
--   lunatik exec useragent -e 'require("rcu").table("useragent.blocklist").BadBot = true'
--   lunatik exec useragent -e 'require("rcu").table("useragent.blocklist").BadBot = nil'
--
-- and read the counts with `lunatik exec useragent -e 'return requests, blocked'`.
-- Only IPv4 TCP segments that start an HTTP/1.x request are looked at.
local nf = require("linux.nf")
local netfilter = require("netfilter")
local blocklist = require("rcu").table("useragent.blocklist")

requests, blocked = 0, 0

-- The TCP payload of an IPv4 packet, or nil.
local function tcp_payload(d)
	if #d < 20 then return nil end
	local b0 = d:getuint8(0)
	if b0 >> 4 ~= 4 or d:getuint8(9) ~= 6 then return nil end
	local tcp = (b0 & 0x0f) * 4
	if #d < tcp + 20 then return nil end
	local off = tcp + (d:getuint8(tcp + 12) >> 4) * 4
	if off >= #d then return nil end
	return d:getstring(off)
end

local function filter(skb)
	local request = tcp_payload(skb:data("net"))
	if not request or not request:find("^%u+ [^\r\n]* HTTP/1%.%d\r\n") then
		return nf.action.ACCEPT
	end
	requests = requests + 1
	local agent = request:match("\r\n[Uu][Ss][Ee][Rr]%-[Aa][Gg][Ee][Nn][Tt]:[ \t]*([^\r\n]*)")
	local product = agent and agent:match("^([^/%s]+)")
	if product and blocklist[product] then
		blocked = blocked + 1
		return nf.action.DROP
	end
	return nf.action.ACCEPT
end

netfilter.register{
	hook = filter,
	pf = nf.proto.INET,
	hooknum = nf.inet.LOCAL_IN,
	priority = nf.ip.pri.FILTER,
}
