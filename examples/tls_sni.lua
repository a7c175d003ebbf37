-- tls_sni.lua: finds the server name (SNI) in a TLS ClientHello, reading
-- the bytes only through `data` accessors, as a packet filter blocking
-- TLS servers by name does. `tls_server_name(d [, off])` takes a `data`
-- view holding a TLS record at `off` (0 by default) and returns the host
-- name, or nil with the reason when the record is not a ClientHello with
-- a server name. Every read is bounds checked by `data`, so a truncated
-- or lying record ends in nil (or an "out of bounds" error), never in a
-- read past the buffer.
local byteorder = require("byteorder")

local HANDSHAKE = 0x16
local CLIENT_HELLO = 0x01
local SERVER_NAME = 0x0000
local HOST_NAME = 0x00

local function u16(d, off)
	return byteorder.ntoh16(d:getuint16(off))
end

local function parse(d, off)
	if d:getuint8(off) ~= HANDSHAKE then
		return nil, "not a handshake record"
	end
	local record_end = off + 5 + u16(d, off + 3)
	if record_end > #d then
		return nil, "truncated record"
	end
	local p = off + 5
	if d:getuint8(p) ~= CLIENT_HELLO then
		return nil, "not a ClientHello"
	end
	-- Handshake header (4), client version (2), random (32).
	p = p + 4 + 2 + 32
	p = p + 1 + d:getuint8(p) -- session id
	p = p + 2 + u16(d, p) -- cipher suites
	p = p + 1 + d:getuint8(p) -- compression methods
	if p + 2 > record_end then
		return nil, "no extensions"
	end
	local extensions_end = p + 2 + u16(d, p)
	p = p + 2
	while p + 4 <= extensions_end do
		local kind, len = u16(d, p), u16(d, p + 2)
		p = p + 4
		if kind == SERVER_NAME then
			-- server_name_list length (2), then entries of type (1),
			-- length (2) and name.
			local q, list_end = p + 2, p + 2 + u16(d, p)
			while q + 3 <= list_end do
				local name_type, name_len = d:getuint8(q), u16(d, q + 1)
				if name_type == HOST_NAME then
					return d:getstring(q + 3, name_len)
				end
				q = q + 3 + name_len
			end
			return nil, "no host name"
		end
		p = p + len
	end
	return nil, "no server name"
end

function tls_server_name(d, off)
	return parse(d, off or 0)
end
