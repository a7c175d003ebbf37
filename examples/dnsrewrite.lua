-- dnsrewrite.lua: rewrites the address in DNS answers for chosen names
-- ("DNS doctoring"): every A record of an answer to a question about a
-- name in the rcu table `dns.rewrite` gets that name's address instead.
-- Run it in a softirq state in the namespace of the clients (answers are
-- rewritten as they arrive, before any socket sees them):
--
--   lunatik run dnsrewrite.lua softirq
--   lunatik exec dnsrewrite -e 'require("rcu").table("dns.rewrite")["www.example"] = "10.0.0.7"'
--
-- A client asking for www.example then gets 10.0.0.7 whatever the server
-- said; other names are untouched. The packet is made writable only
-- when it is rewritten, and its checksums are fixed after. An answer
-- that is truncated or malformed anywhere is left alone. `return
-- answers, rewritten` reads the counts (answers seen, records rewritten).
local nf = require("linux.nf")
local netfilter = require("netfilter")
local byteorder = require("byteorder")
local rewrites = require("rcu").table("dns.rewrite")

answers, rewritten = 0, 0

-- The four bytes of a dotted IPv4 address, or nil.
local function address(s)
	if type(s) ~= "string" then return nil end
	local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
	a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
	if not (a and a < 256 and b < 256 and c < 256 and d < 256) then return nil end
	return string.char(a, b, c, d)
end

-- The offset after the name at `p` in a message ending at `n` (a name
-- that ends in a compression pointer stops there), or nil.
local function skip(d, p, n)
	for _ = 1, 128 do
		if p >= n then return nil end
		local len = d:getuint8(p)
		if len == 0 then return p + 1 end
		if len & 0xc0 == 0xc0 then return p + 2 <= n and p + 2 or nil end
		if len > 63 then return nil end
		p = p + 1 + len
	end
	return nil
end

-- The lower-cased name at `p` (the question's, never compressed) and the
-- offset after it, or nil.
local function name(d, p, n)
	local labels = {}
	for _ = 1, 128 do
		if p >= n then return nil end
		local len = d:getuint8(p)
		if len == 0 then return table.concat(labels, "."), p + 1 end
		if len > 63 or p + 1 + len > n then return nil end
		labels[#labels + 1] = d:getstring(p + 1, len):lower()
		p = p + 1 + len
	end
	return nil
end

-- The offsets of the A records' addresses in the DNS answer at `o`
-- (ending at `n`) if it answers a question about a name to rewrite,
-- with that name's new address; nil otherwise.
local function records(d, o, n)
	if o + 12 > n or d:getuint8(o + 2) & 0x80 == 0 then return nil end
	if byteorder.ntoh16(d:getuint16(o + 4)) ~= 1 then return nil end
	local ancount = byteorder.ntoh16(d:getuint16(o + 6))
	local q, p = name(d, o + 12, n)
	if not q then return nil end
	local to = address(rewrites[q])
	if not to then return nil end
	p = p + 4 -- the question's type and class
	local at = {}
	for _ = 1, ancount do
		p = skip(d, p, n)
		if not p or p + 10 > n then return nil end
		local rtype = byteorder.ntoh16(d:getuint16(p))
		local class = byteorder.ntoh16(d:getuint16(p + 2))
		local rdlen = byteorder.ntoh16(d:getuint16(p + 8))
		p = p + 10
		if p + rdlen > n then return nil end
		if rtype == 1 and class == 1 and rdlen == 4 then at[#at + 1] = p end
		p = p + rdlen
	end
	return at, to
end

local function rewrite(skb)
	local d = skb:data("net")
	local n = #d
	if n < 28 then return nf.action.ACCEPT end
	local b0 = d:getuint8(0)
	if b0 >> 4 ~= 4 or d:getuint8(9) ~= 17 then return nf.action.ACCEPT end
	-- Fragments (offset or more-fragments set) are left alone.
	if byteorder.ntoh16(d:getuint16(6)) & 0x3fff ~= 0 then return nf.action.ACCEPT end
	local udp = (b0 & 0x0f) * 4
	local total = byteorder.ntoh16(d:getuint16(2))
	if total < n then n = total end
	if udp < 20 or n < udp + 8 or byteorder.ntoh16(d:getuint16(udp)) ~= 53 then
		return nf.action.ACCEPT
	end
	local ulen = byteorder.ntoh16(d:getuint16(udp + 4))
	if ulen < 8 then return nf.action.ACCEPT end
	if udp + ulen < n then n = udp + ulen end
	answers = answers + 1
	local at, to = records(d, udp + 8, n)
	if not at or #at == 0 then return nf.action.ACCEPT end
	-- The same view, now over the packet's own, writable bytes.
	d = skb:data("net", true)
	for _, p in ipairs(at) do d:setstring(p, to) end
	skb:checksum()
	rewritten = rewritten + #at
	return nf.action.ACCEPT
end

netfilter.register{
	hook = rewrite,
	pf = nf.proto.IPV4,
	hooknum = nf.inet.PRE_ROUTING,
	priority = nf.ip.pri.MANGLE,
}
