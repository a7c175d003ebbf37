-- l7policy.lua: an HTTP API policy for the workload of one network
-- namespace: which methods and path prefixes each client address may
-- use. Run it in a softirq state in the namespace of the web server:
--
--   lunatik run l7policy.lua softirq
--
-- Rules are the namespace's rcu table "l7.rules", keyed
-- "SOURCE METHOD PREFIX" (SOURCE an IPv4 address or "*"); true allows,
-- false denies. Edit them while traffic flows:
--
--   lunatik exec l7policy -e 'local r = require("rcu").table("l7.rules")
--     r["* GET /public/"] = true
--     r["10.200.1.1 POST /admin/"] = true'
--
-- A request is judged by the longest matching prefix (the whole path,
-- then each prefix ending in '/'), a rule for its source address before
-- a "*" rule of the same prefix; a request no rule matches is denied.
-- Methods are compared as written (HTTP methods are case-sensitive): a
-- "get" matches no "GET" rule. "l7.config" holds the port ("port",
-- default 80) and the longest request or header line ("maxline",
-- default 2048 bytes).
--
-- A denied request's segment is dropped (the API has no way to send a
-- TCP reset yet), and so are its retransmissions: the client sees a
-- stalled connection. `hits` counts decisions per rule key, or per
-- reason ("default", "malformed", "badpath", "toolong", "body"):
--
--   lunatik exec l7policy -e 'return allowed, denied'
--   lunatik exec l7policy -e 'return hits["* GET /public/"]'
--
-- How it reads a connection (docs/examples.md says why): it follows
-- each client's byte stream in order, per connection, from its SYN.
-- Request lines, headers and Content-Length bodies are parsed as they
-- arrive, whatever the segment boundaries, so a request split across
-- segments is judged on the segment that completes its request line,
-- and each of several pipelined requests is judged. A segment is the
-- unit of verdict: if any request it completes is denied, the whole
-- segment is dropped, allowed requests before it included. A segment
-- beyond a gap in the stream is dropped until the gap is filled; a
-- retransmission of bytes already judged on this connection passes.
local nf = require("linux.nf")
local linux = require("linux")
local netfilter = require("netfilter")
local byteorder = require("byteorder")
local rcu = require("rcu")
local rules = rcu.table("l7.rules")
local config = rcu.table("l7.config")

allowed, denied, hits = 0, 0, {}
-- Connections followed, by "address:port"; at most MAXFLOWS.
flows, nflows = {}, 0
local MAXFLOWS = 1024
local IDLE = 60 * 1000000000 -- a flow idle this long may be evicted

local function count(rule, ok)
	hits[rule] = (hits[rule] or 0) + 1
	if ok then allowed = allowed + 1 else denied = denied + 1 end
end

-- Prefixes of `path` to look up, longest first: the path, then each
-- prefix ending in '/'. Only the first 32 levels: deeper rules cannot
-- exist (rcu keys hold 255 bytes anyway).
local function prefixes(path)
	local ends, p = {}, 0
	while #ends < 32 do
		p = path:find("/", p + 1, true)
		if not p then break end
		ends[#ends + 1] = p
	end
	local out = {}
	if not p and ends[#ends] ~= #path then out[1] = path end
	for i = #ends, 1, -1 do out[#out + 1] = path:sub(1, ends[i]) end
	return out
end

-- Paths a server might read differently from the policy: dot segments,
-- empty segments, percent-encoded '.', '/', '\' or '%', and backslashes.
local function suspicious(path)
	return path:find("/%.%.?/") or path:find("/%.%.?$") or path:find("//", 1, true)
		or path:find("%%2[eEfF5]") or path:find("%%5[cC]") or path:find("\\", 1, true)
end

-- The verdict on one request line from `src`: allowed, and the rule key.
local function judge(src, line)
	local method, target = line:match("^(%a+) (/%S*) HTTP/1%.[01]\r?\n$")
	if not method then return false, "malformed" end
	local path = target:match("^[^?#]*")
	if suspicious(path) then return false, "badpath" end
	for _, prefix in ipairs(prefixes(path)) do
		for _, who in ipairs({src, "*"}) do
			local key = who .. " " .. method .. " " .. prefix
			if #key <= 255 then
				local v = rules[key]
				if v ~= nil then return v == true, key end
			end
		end
	end
	return false, "default"
end

-- Feeds `text`, the next bytes of flow `f` from `src`, to its parser.
-- Returns the new parser state (mode, carry, left), with the rule of
-- every request completed in `text` appended to `seen`; or nil and the
-- rule or reason that denied a request.
local function feed(f, src, text, maxline, seen)
	local mode, left = f.mode, f.left
	local buf, pos = f.carry .. text, 1
	while pos <= #buf do
		if mode == "body" then
			local n = math.min(left, #buf - pos + 1)
			pos, left = pos + n, left - n
			if left == 0 then mode = "line" end
		else
			local nl = buf:find("\n", pos, true)
			if not nl then
				local rest = buf:sub(pos)
				if #rest > maxline then return nil, "toolong" end
				-- The start of a request line must look like one.
				if mode == "line" and not (rest:find("^%a*$") or rest:find("^%a+ /%S*$")
						or rest:find("^%a+ /%S* [HTTP/1%.01\r]*$")) then
					return nil, "malformed"
				end
				return mode, rest, left
			end
			local line = buf:sub(pos, nl)
			pos = nl + 1
			if #line > maxline then return nil, "toolong" end
			if mode == "line" then
				if line ~= "\r\n" and line ~= "\n" then
					local ok, rule = judge(src, line)
					if not ok then return nil, rule end
					seen[#seen + 1] = rule
					mode, left = "head", 0
				end
			elseif line == "\r\n" or line == "\n" then
				mode = left > 0 and "body" or "line"
			else
				local name, value = line:match("^([%w%-]+):[ \t]*(.-)[ \t]*\r?\n$")
				name = name and name:lower()
				if name == "content-length" then
					left = value:find("^%d+$") and #value <= 12 and tonumber(value)
					if not left then return nil, "body" end
				elseif name == "transfer-encoding" then
					return nil, "body" -- chunked bodies are not followed
				end
			end
		end
	end
	return mode, "", left
end

-- Drops flows idle for IDLE, to make room.
local function evict(now)
	for k, f in pairs(flows) do
		if now - f.seen > IDLE then flows[k], nflows = nil, nflows - 1 end
	end
end

local function filter(skb)
	local d = skb:data("net")
	if #d < 20 then return nf.action.ACCEPT end
	local b0 = d:getuint8(0)
	if b0 >> 4 ~= 4 or d:getuint8(9) ~= 6 then return nf.action.ACCEPT end
	local ihl = (b0 & 0x0f) * 4
	if #d < ihl + 20 then return nf.action.ACCEPT end
	if byteorder.ntoh16(d:getuint16(ihl + 2)) ~= (config.port or 80) then
		return nf.action.ACCEPT
	end
	local flags = d:getuint8(ihl + 13)
	local seq = byteorder.ntoh32(d:getuint32(ihl + 4))
	local off = ihl + (d:getuint8(ihl + 12) >> 4) * 4
	local src = string.format("%d.%d.%d.%d", d:getuint8(12), d:getuint8(13), d:getuint8(14), d:getuint8(15))
	local key = src .. ":" .. byteorder.ntoh16(d:getuint16(ihl))
	local now = linux.time()
	local f = flows[key]
	if flags & 0x12 == 0x02 then -- a SYN: a new connection starts
		if not f then
			if nflows >= MAXFLOWS then evict(now) end
			if nflows >= MAXFLOWS then count("flows full", false) return nf.action.DROP end
			nflows = nflows + 1
		end
		seq = (seq + 1) & 0xffffffff
		f = {mode = "line", carry = "", left = 0, start = seq, next = seq, seen = now}
		flows[key] = f
	end
	local len = math.max(#d - off, 0)
	-- forget: a FIN or RST ends the flow once its bytes are accepted.
	local forget = flags & 0x05 ~= 0
	if len == 0 then
		if f and forget then flows[key], nflows = nil, nflows - 1
		elseif f then f.seen = now end
		return nf.action.ACCEPT
	end
	if not f then
		-- Data on a connection that was not seen starting (the policy was
		-- loaded later, or the flow was evicted): read it from here on.
		if nflows >= MAXFLOWS then evict(now) end
		if nflows >= MAXFLOWS then count("flows full", false) return nf.action.DROP end
		f = {mode = "line", carry = "", left = 0, start = seq, next = seq}
		flows[key], nflows = f, nflows + 1
	end
	f.seen = now
	-- skip: how far the segment starts before the next byte expected.
	-- Bytes from f.start to f.next were judged; anything else out of
	-- order (a gap before the segment, or bytes before the flow's start,
	-- as a SYN in the middle of a connection would make) is dropped.
	local skip = (f.next - seq) & 0xffffffff
	if skip ~= 0 then
		if skip > (f.next - f.start) & 0xffffffff then return nf.action.DROP end
		if skip >= len then return nf.action.ACCEPT end -- judged already
	end
	local seen = {}
	local mode, carry, left = feed(f, src, d:getstring(off + skip), config.maxline or 2048, seen)
	if not mode then
		-- Counted once per connection, which cannot get past the denied
		-- request: not once per retransmission, however the sender
		-- splits them. Allowed requests in the dropped segment are not
		-- counted: they never arrive.
		if not f.denied then f.denied = true count(carry, false) end
		return nf.action.DROP
	end
	for _, rule in ipairs(seen) do count(rule, true) end
	f.mode, f.carry, f.left = mode, carry, left
	f.next = (seq + len) & 0xffffffff
	if forget then flows[key], nflows = nil, nflows - 1 end
	return nf.action.ACCEPT
end

netfilter.register{
	hook = filter,
	pf = nf.proto.IPV4,
	hooknum = nf.inet.LOCAL_IN,
	priority = nf.ip.pri.FILTER,
}
