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

-- The 16 bytes of an IPv6 address in text, or nil.
local function ipv6(s)
	if #s < 2 or #s > 45 or find(s, "[^%x:%.]") then return nil end
	local head, tail = s, nil
	local at = find(s, "::", 1, true)
	if at then
		head, tail = s:sub(1, at - 1), s:sub(at + 2)
		if find(tail, "::", 1, true) then return nil end
	end
	-- The groups of one side of "::" (or of the whole address), as
	-- 16-bit values; a dotted quad at the very end counts as two.
	local function groups(part, last)
		local out = {}
		if part == "" then return out end
		for g in (part .. ":"):gmatch("([^:]*):") do out[#out + 1] = g end
		local values = {}
		for i, g in ipairs(out) do
			if last and i == #out and find(g, ".", 1, true) then
				local v = ipv4(g)
				if not v then return nil end
				values[#values + 1] = v >> 16
				values[#values + 1] = v & 0xffff
			elseif #g >= 1 and #g <= 4 and not find(g, "[^%x]") then
				values[#values + 1] = tointeger("0x" .. g)
			else
				return nil
			end
		end
		return values
	end
	local left, right = groups(head, tail == nil), {}
	if tail then right = groups(tail, true) end
	if not left or not right then return nil end
	local zeros = 8 - #left - #right
	if (tail and zeros < 1) or (not tail and zeros ~= 0) then return nil end
	local words = left
	for _ = 1, zeros do words[#words + 1] = 0 end
	for _, w in ipairs(right) do words[#words + 1] = w end
	local bytes = {}
	for i, w in ipairs(words) do
		bytes[2 * i - 1], bytes[2 * i] = w >> 8, w & 0xff
	end
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
	local best, bestlen, run, runlen = 0, 0, 0, 0
	for i = 1, 8 do
		if w[i] == 0 then
			if runlen == 0 then run = i end
			runlen = runlen + 1
			if runlen > bestlen then best, bestlen = run, runlen end
		else
			runlen = 0
		end
	end
	local out = {}
	local i = 1
	while i <= 8 do
		if bestlen >= 2 and i == best then
			out[#out + 1] = (i == 1) and ":" or ""
			i = i + bestlen
			if i > 8 then out[#out + 1] = "" end
		else
			out[#out + 1] = format("%x", w[i])
			i = i + 1
		end
	end
	return concat(out, ":")
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
