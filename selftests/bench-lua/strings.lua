-- CPU-bound workload of `make bench`: building strings (concatenation,
-- string.format, table.concat), which allocates and hashes.
local parts = {}
for i = 1, 10000 do
	parts[#parts + 1] = string.format("%d:%s", i, ("k" .. i):upper())
end
local s = table.concat(parts, ",")
return #s
