-- SPDX-License-Identifier: GPL-2.0
--
-- net: IP addresses between their text and their values, for scripts
-- (upstream Lunatik's `net`, with IPv6 added; docs/libraries.md, "net").
--
--   net.aton("192.168.1.1")   --> 3232235777, the IPv4 address as an
--                                 integer in host order (a << 24 | ...)
--   net.aton("2001:db8::1")   --> the IPv6 address as a 16-byte string in
--                                 network order (128 bits fit no integer)
--   net.aton("bogus")         --> nil: text that is no address
--   net.ntoa(3232235777)      --> "192.168.1.1" (the integer's low 32 bits)
--   net.ntoa(bytes)           --> a 4-byte string (network order, as read
--                                 from a packet) in dotted form, a
--                                 16-byte one in RFC 5952's canonical form
--
-- The text accepted is inet_pton's: four decimal parts for IPv4 (0 to
-- 255, no leading zeros); for IPv6, eight groups of one to four hex
-- digits, one "::" standing for a run of zero groups, and an IPv4
-- address in place of the last two groups.
local net = {}

local byte, char, find, format, match = string.byte, string.char, string.find, string.format, string.match
local concat, tointeger = table.concat, math.tointeger

-- The value of a dotted quad, or nil.
local function ipv4(s)
	local a, b, c, d = match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
	if not a then return nil end
	local v = 0
	for _, part in ipairs({ a, b, c, d }) do
		if #part > 3 or (#part > 1 and byte(part) == 48) then return nil end
		local n = tointeger(part)
		if n > 255 then return nil end
		v = v << 8 | n
	end
	return v
end

-- Appends the 16-bit groups of `part` (one side of "::", or the whole
-- address) to `out`; false if one of them is no group of 1 to 4 hex
-- digits. (The functions here are flat, none inside another and few
-- blocks deep: a file is compiled on the kernel's small C stack, below
-- the frames of `require`.)
local function hexgroups(part, out)
	if part == "" then return true end
	for g in (part .. ":"):gmatch("([^:]*):") do
		if #g < 1 or #g > 4 or find(g, "[^%x]") then return false end
		out[#out + 1] = tointeger("0x" .. g)
	end
	return true
end

-- The 16 bytes of an IPv6 address in text, or nil.
local function ipv6(s)
	if #s < 2 or #s > 45 or find(s, "[^%x:%.]") then return nil end
	-- A dotted quad in place of the last two groups: parsed apart, and
	-- two groups of 0 hold its place.
	local quad
	if find(s, ".", 1, true) then
		local colon = match(s, "^.*():")
		if not colon then return nil end
		quad = ipv4(s:sub(colon + 1))
		if not quad then return nil end
		s = s:sub(1, colon) .. "0:0"
	end
	local head, tail = s, nil
	local at = find(s, "::", 1, true)
	if at then head, tail = s:sub(1, at - 1), s:sub(at + 2) end
	if tail and find(tail, "::", 1, true) then return nil end
	local words, right = {}, {}
	if not hexgroups(head, words) then return nil end
	if tail and not hexgroups(tail, right) then return nil end
	local zeros = 8 - #words - #right
	if (tail and zeros < 1) or (not tail and zeros ~= 0) then return nil end
	for _ = 1, zeros do words[#words + 1] = 0 end
	table.move(right, 1, #right, #words + 1, words)
	if quad then words[7], words[8] = quad >> 16, quad & 0xffff end
	local bytes = {}
	for i = 1, 8 do bytes[2 * i - 1], bytes[2 * i] = words[i] >> 8, words[i] & 0xff end
	return char(table.unpack(bytes))
end

-- Converts an address from text: an IPv4 address to an integer, an IPv6
-- one to its 16 bytes; nil if `addr` is no address.
function net.aton(addr)
	if type(addr) ~= "string" then
		error("bad argument #1 to 'aton' (string expected, got " .. type(addr) .. ")", 2)
	end
	if find(addr, ":", 1, true) then return ipv6(addr) end
	return ipv4(addr)
end

-- RFC 5952: lower-case hex without leading zeros, the longest run of two
-- or more zero groups (the first of equals) as "::", and an IPv4-mapped
-- address (::ffff:0:0/96) with its last 32 bits dotted.
local function text6(b)
	local w = {}
	for i = 1, 8 do
		local hi, lo = byte(b, 2 * i - 1, 2 * i)
		w[i] = hi << 8 | lo
	end
	if w[1] == 0 and w[2] == 0 and w[3] == 0 and w[4] == 0 and w[5] == 0 and w[6] == 0xffff then
		return format("::ffff:%d.%d.%d.%d", byte(b, 13, 16))
	end
	local best, bestlen, runlen = 0, 0, 0
	for i = 1, 8 do
		runlen = w[i] == 0 and runlen + 1 or 0
		if runlen > bestlen then best, bestlen = i - runlen + 1, runlen end
	end
	local head, tail = {}, {}
	if bestlen < 2 then best, bestlen = 9, 0 end
	for i = 1, best - 1 do head[#head + 1] = format("%x", w[i]) end
	for i = best + bestlen, 8 do tail[#tail + 1] = format("%x", w[i]) end
	if bestlen == 0 then return concat(head, ":") end
	return concat(head, ":") .. "::" .. concat(tail, ":")
end

-- Converts an address to text: an integer (its low 32 bits, an IPv4
-- address in host order), or the 4 or 16 bytes of an IPv4 or IPv6
-- address in network order.
function net.ntoa(ip)
	if math.type(ip) == "integer" then
		return format("%d.%d.%d.%d", ip >> 24 & 0xff, ip >> 16 & 0xff, ip >> 8 & 0xff, ip & 0xff)
	elseif type(ip) == "string" and #ip == 4 then
		return format("%d.%d.%d.%d", byte(ip, 1, 4))
	elseif type(ip) == "string" and #ip == 16 then
		return text6(ip)
	end
	error("bad argument #1 to 'ntoa' (an integer, or a string of 4 or 16 bytes expected)", 2)
end

return net
