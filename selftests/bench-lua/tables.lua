-- CPU-bound workload of `make bench`: table inserts and lookups, with
-- integer and string keys.
local t, hits = {}, 0
for i = 1, 20000 do
	t[i] = i
	t["k" .. (i % 512)] = i
end
for r = 1, 40 do
	for i = 1, 20000, 7 do
		if t[i] and t["k" .. (i % 512)] then hits = hits + 1 end
	end
end
return hits
