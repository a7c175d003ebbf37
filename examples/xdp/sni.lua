-- examples/xdp/sni.lua: drops TLS ClientHellos whose server name (SNI) is
-- in the rcu table "sni.blocklist", at XDP, before the kernel builds an
-- skb. Run it in a softirq state named "sni" and attach the eBPF half:
--   lunatik run /examples/xdp/sni.lua softirq
--   lunatik xdp attach eth0 /lib/bpf/sni.o
--   lunatik exec sni -e 'require("rcu").table("sni.blocklist")["ads.example"] = true'
-- The eBPF program (luaxdp/bpf/sni.bpf.c) hands over TCP segments to port
-- 443 with PSH set, and the TCP payload's offset as a 2-byte argument in
-- network order (the contract of Lunatik's examples/filter/https.c).
-- The blocklist holds any number of names; a lookup is one table access.
-- Every length is checked before it is used, so a truncated or lying
-- record passes; it never raises.
local xdp = require("xdp")
local action = require("linux.xdp")
local blocklist = require("rcu").table("sni.blocklist")

local HANDSHAKE, CLIENT_HELLO, SERVER_NAME = 0x16, 0x01, 0x0000

-- Counters for `lunatik exec sni -e 'return blocked, passed'`.
blocked, passed = 0, 0

local function u16(d, off)
	return d:getbyte(off) << 8 | d:getbyte(off + 1)
end

-- The server name in the ClientHello at `off` of `d`, or nil.
local function server_name(d, off)
	local size = #d
	if off + 9 > size or d:getbyte(off) ~= HANDSHAKE or d:getbyte(off + 5) ~= CLIENT_HELLO then
		return nil
	end
	local stop = math.min(size, off + 5 + u16(d, off + 3))
	-- Record header (5), handshake header (4), version (2), random (32).
	local p = off + 43
	if p + 1 > stop then return nil end
	p = p + 1 + d:getbyte(p) -- session id
	if p + 2 > stop then return nil end
	p = p + 2 + u16(d, p) -- cipher suites
	if p + 1 > stop then return nil end
	p = p + 1 + d:getbyte(p) -- compression methods
	if p + 2 > stop then return nil end
	local extensions = math.min(stop, p + 2 + u16(d, p))
	p = p + 2
	while p + 4 <= extensions do
		local kind, len = u16(d, p), u16(d, p + 2)
		p = p + 4
		if kind == SERVER_NAME then
			-- List length (2), name type (1), name length (2), name.
			if p + 5 > extensions then return nil end
			local n = u16(d, p + 3)
			if p + 5 + n > extensions then return nil end
			return d:getstring(p + 5, n)
		end
		p = p + len
	end
	return nil
end

local function filter(packet, argument)
	if #argument < 2 then
		return action.PASS
	end
	local name = server_name(packet, u16(argument, 0))
	if name and blocklist[name] then
		blocked = blocked + 1
		return action.DROP
	end
	passed = passed + 1
	return action.PASS
end

xdp.attach(filter)
