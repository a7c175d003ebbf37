-- scanblock.lua: blocks port scanners with a Threshold Random Walk
-- (Jung, Paxson, Berger, Balakrishnan, 2004) over the outcomes of the
-- connection attempts each remote address makes to this host. Run it in
-- a softirq state in the namespace to protect:
--
--   lunatik run scanblock.lua softirq
--
-- The outcomes are read from this host's answers (LOCAL_OUT): a SYN-ACK
-- is a success; a reset answering a SYN (a closed TCP port) or an ICMP
-- port unreachable (a closed UDP port) is a failure. A failure moves the
-- address's score up by one, a success down by one (never below
-- -threshold, so a long good history cannot hide a later scan for
-- long). At the threshold the address is blocked: every packet from it
-- is dropped (PRE_ROUTING) for block_s seconds. An address not seen for
-- expire_s seconds is forgotten.
--
-- Settings, in the rcu table "scan.config" (read on every packet):
-- threshold (5), block_s (60), expire_s (300), max_sources (16384).
-- State, in rcu tables other states of the namespace can read:
-- "scan.scores" (address -> last seen second * 256 + score + 128) and
-- "scan.blocked" (address -> the second the block ends). Counts:
--
--   lunatik exec scanblock -e 'return tracked, blocks, dropped, untracked'
--
-- Memory: every address tracked (score or block) is also in a queue in
-- the state's own memory, oldest first. Each packet examines the queue's
-- head (a few entries) and forgets those that expired, so entries leave
-- by time without a walk over the whole table in the packet path. At
-- most max_sources addresses are tracked; a flood of new sources beyond
-- that goes untracked (counted in `untracked`) instead of growing the
-- tables, and the namespace's rcu quota bounds them anyway (a refused
-- write is caught and counted as untracked too). `sweep(n)` forgets up
-- to n expired entries at once, for the control plane.
local nf = require("linux.nf")
local netfilter = require("netfilter")
local byteorder = require("byteorder")
local linux = require("linux")
local rcu = require("rcu")
local config = rcu.table("scan.config")
local scores = rcu.table("scan.scores")
local blocked = rcu.table("scan.blocked")

tracked, blocks, dropped, untracked = 0, 0, 0, 0
-- The queue of tracked addresses, oldest first: queue[head .. tail - 1];
-- queued[a] is true while a is in it (once).
local queue, queued, head, tail = {}, {}, 1, 1
local SWEEP = 4 -- queue entries examined per packet

local function setting(name, default) return config[name] or default end

local function now_s() return linux.time() // 1000000000 end

local function addr(d, off)
	return string.format("%d.%d.%d.%d", d:getuint8(off), d:getuint8(off + 1),
		d:getuint8(off + 2), d:getuint8(off + 3))
end

-- Examines up to n entries at the queue's head: forgets what expired,
-- moves what is still live to the tail. Returns how many it forgot.
function sweep(n)
	local now, expire, forgot = now_s(), setting("expire_s", 300), 0
	for _ = 1, math.min(n, tail - head) do
		local a = queue[head]
		queue[head], head = nil, head + 1
		local until_s, s = blocked[a], scores[a]
		if until_s and until_s <= now then blocked[a], until_s = nil, nil end
		if s and now - s // 256 >= expire then scores[a], s = nil, nil end
		if until_s or s then
			queue[tail], tail = a, tail + 1
		else
			queued[a], tracked, forgot = nil, tracked - 1, forgot + 1
		end
	end
	return forgot
end

-- One outcome for address a: +1 a failure, -1 a success.
local function step(a, delta)
	local now, threshold = now_s(), setting("threshold", 5)
	if blocked[a] then return end
	local s = scores[a]
	local score = s and s % 256 - 128 or 0
	if not queued[a] and tracked >= setting("max_sources", 16384) then
		untracked = untracked + 1
		return
	end
	score = math.max(score + delta, -threshold)
	local ok = pcall(function()
		if score >= threshold then
			blocked[a] = now + setting("block_s", 60)
			scores[a] = nil
			blocks = blocks + 1
		else
			scores[a] = now * 256 + score + 128
		end
	end)
	if not ok then untracked = untracked + 1 return end
	if not queued[a] then
		queue[tail], queued[a], tail, tracked = a, true, tail + 1, tracked + 1
	end
end

-- Outgoing answers: the outcome of an attempt from their destination.
local function answers(skb)
	local d = skb:data("net")
	if #d < 28 or d:getuint8(0) >> 4 ~= 4 then return nf.action.ACCEPT end
	local ihl, proto = (d:getuint8(0) & 0x0f) * 4, d:getuint8(9)
	if proto == 6 and #d >= ihl + 20 then
		local flags = d:getuint8(ihl + 13) & 0x3f
		if flags == 0x12 then
			step(addr(d, 16), -1) -- SYN-ACK: an open port
		elseif flags == 0x14 and d:getuint32(ihl + 4) == 0 then
			step(addr(d, 16), 1) -- RST-ACK with sequence 0: answers a SYN
		end
	elseif proto == 1 and #d >= ihl + 2 and d:getuint8(ihl) == 3 and d:getuint8(ihl + 1) == 3 then
		step(addr(d, 16), 1) -- port unreachable
	end
	return nf.action.ACCEPT
end

-- Incoming packets: those of blocked addresses are dropped.
local function incoming(skb)
	local d = skb:data("net")
	if #d < 20 or d:getuint8(0) >> 4 ~= 4 then return nf.action.ACCEPT end
	sweep(SWEEP)
	local a = addr(d, 12)
	local until_s = blocked[a]
	if until_s then
		if until_s > now_s() then
			dropped = dropped + 1
			return nf.action.DROP
		end
		blocked[a] = nil -- expired; the queue forgets it later
	end
	return nf.action.ACCEPT
end

netfilter.register{hook = incoming, pf = nf.proto.IPV4, hooknum = nf.inet.PRE_ROUTING,
	priority = nf.ip.pri.FIRST}
netfilter.register{hook = answers, pf = nf.proto.IPV4, hooknum = nf.inet.LOCAL_OUT,
	priority = nf.ip.pri.FILTER, failopen = true}
