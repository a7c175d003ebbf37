-- SPDX-License-Identifier: GPL-2.0
--
-- struct: a codec for the fixed layout of a C struct (upstream Lunatik's
-- `struct`; docs/libraries.md, "struct"). Calling the module with a
-- layout returns a codec that packs and unpacks the struct's fields with
-- one `string.pack` format derived once from the layout:
--
--   local struct = require("struct")
--   local hdr = struct{ size = 8, fields = {
--       { name = "len",  offset = 0, size = 4, signed = false },
--       { name = "type", offset = 4, size = 2, signed = false },
--   } }
--   hdr.format            --> "=I4I2xx"  (fields by offset, "x" for padding)
--   hdr.size              --> 8
--   hdr:pack(16, 2)       --> 8 bytes, in the host's byte order
--   hdr:unpack(bytes [, pos]) --> 16, 2, and the position after the struct
--   hdr:fieldsize("type") --> 2 (nil for a name the layout lacks)
--
-- Fields may be listed in any order; fields that overlap (a union) are
-- refused with an error.
local struct = {}
struct.__index = struct

local pack, unpack, packsize, rep = string.pack, string.unpack, string.packsize, string.rep

-- Orders fields by offset.
local function by_offset(a, b)
	return a.offset < b.offset
end

-- The format of `layout`: its fields by offset, each an unsigned or
-- signed integer of its size, with pad bytes ("x") before a field that
-- starts past the end of the previous one and after the last, up to the
-- struct's size. Native byte order ("="), as the kernel lays structs out.
local function format_of(layout)
	local fields = {}
	for i, f in ipairs(layout.fields) do fields[i] = f end
	table.sort(fields, by_offset)
	local parts, at = { "=" }, 0
	for _, f in ipairs(fields) do
		if f.offset < at then
			error("struct: field '" .. tostring(f.name) .. "' overlaps the one before it", 3)
		end
		parts[#parts + 1] = rep("x", f.offset - at)
		parts[#parts + 1] = (f.signed and "i" or "I") .. f.size
		at = f.offset + f.size
	end
	if layout.size < at then
		error("struct: the fields end past the struct's size", 3)
	end
	parts[#parts + 1] = rep("x", layout.size - at)
	return table.concat(parts)
end

-- The struct's bytes from its field values, in offset order.
function struct:pack(...)
	return pack(self.format, ...)
end

-- The field values, in offset order, from `buf` at `pos` (1 by default),
-- then the position after the struct.
function struct:unpack(buf, pos)
	return unpack(self.format, buf, pos)
end

-- The size of the field called `name`, or nil.
function struct:fieldsize(name)
	for _, f in ipairs(self.layout.fields) do
		if f.name == name then return f.size end
	end
	return nil
end

return function(layout)
	local format = format_of(layout)
	if packsize(format) ~= layout.size then
		error("struct: the format derived does not match the layout's size", 2)
	end
	return setmetatable({ format = format, size = layout.size, layout = layout }, struct)
end
