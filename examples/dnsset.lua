-- dnsset.lua: drops DNS queries for the names of a blocklist of any size
-- and for every name under them, with one lookup in a `set` per query,
-- whatever the size of the list. Run it in a softirq state in the
-- namespace of the DNS server (or of the clients, with
-- hooknum = nf.inet.LOCAL_OUT):
--
--   lunatik run dnsset.lua softirq
--
-- The list is the Lua module "dnsset.list" (/lib/modules/lua/dnsset/list.lua),
-- read once as the script loads: it returns an array of names, or a
-- table of lower-case names to label bitmasks (categories: 1 ads, 2
-- malware, ...), which costs less to load.
-- A query for a listed name, or for any name under it, is dropped;
-- `return queries, blocked` reads the counts, and `labels[l]` counts the
-- drops per label bitmask. A file holds at most 1 MiB, so a long list's
-- module requires its parts and returns them joined. To change the
-- list, stop the state and run it again: a set is built once.
local nf = require("linux.nf")
local netfilter = require("netfilter")
local byteorder = require("byteorder")
local set = require("set")

-- A map is taken as it is (its names lower-case, as queries are
-- matched lower-cased); an array is made into one, lower-casing.
local list = require("dnsset.list")
if list[1] ~= nil then
	local members = {}
	for _, name in ipairs(list) do members[name:lower()] = 1 end
	list = members
end
local blocklist = set.labeled(list)
list = nil
package.loaded["dnsset.list"] = nil
collectgarbage()

queries, blocked, labels = 0, 0, {}
listed = #blocklist

-- The lower-cased name of the first question of the DNS message at
-- `off`, or nil if it is not a well-formed query.
local function question(d, off)
	if #d < off + 12 or d:getuint8(off + 2) & 0x80 ~= 0 then return nil end
	if byteorder.ntoh16(d:getuint16(off + 4)) < 1 then return nil end
	local labels, p = {}, off + 12
	while p < #d do
		local n = d:getuint8(p)
		if n == 0 then return table.concat(labels, ".") end
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
	local name = question(d, udp + 8)
	if not name then return nf.action.ACCEPT end
	queries = queries + 1
	local l = blocklist:match(name)
	if l == 0 then return nf.action.ACCEPT end
	blocked = blocked + 1
	labels[l] = (labels[l] or 0) + 1
	return nf.action.DROP
end

netfilter.register{
	hook = filter,
	pf = nf.proto.IPV4,
	hooknum = nf.inet.PRE_ROUTING,
	priority = nf.ip.pri.FILTER,
}
