-- examples/dnsblock/common.lua: the part of the DNS blocker that knows
-- DNS, shared by the hook script beside it. Laid out as upstream
-- Lunatik's examples/dnsblock, so a script written for it finds this
-- module under the same name: require("examples.dnsblock.common").
--
-- common.hook(pkt, thoff, proto) is true when the packet, whose
-- transport header starts at byte `thoff` of the view `pkt`, is a UDP
-- query to port 53 for a name that contains a blocked one.
local byteorder = require("byteorder")
local string = require("string")

local common = {}

local UDP, DNS = 17, 53

-- Names are matched in the question's wire form, where each label is
-- preceded by its length: "\7example\3com". A "." in a blocked name is
-- a pattern character, so it matches the length byte between labels.
local blocked = {
	"blocked.example",
	"ads.example",
}

-- The question's name: from `off` to the first zero byte.
local function qname(pkt, off)
	if off >= #pkt then return "" end
	return pkt:getstring(off):match("^[^\0]*")
end

local function is_blocked(name)
	for _, b in ipairs(blocked) do
		if string.find(name, b) then return true end
	end
	return false
end

function common.hook(pkt, thoff, proto)
	if proto ~= UDP or #pkt < thoff + 8 then return false end
	if byteorder.ntoh16(pkt:getuint16(thoff + 2)) ~= DNS then return false end
	-- The UDP header (8 bytes), then the DNS header (12), then the name.
	local name = qname(pkt, thoff + 20)
	if not is_blocked(name) then return false end
	print("DNS query for " .. name:gsub("[%c]", ".") .. " blocked")
	return true
end

return common
