-- examples/scanblock/common.lua: the Threshold Random Walk (Jung,
-- Paxson, Berger, Balakrishnan, 2004) of the scan blocker, shared by its
-- two entry points, which differ only in where blocked sources are
-- dropped:
--
--   examples/scanblock.lua       netfilter, PRE_ROUTING (an skb exists)
--   examples/scanblock/xdp.lua   XDP, from luaxdp/bpf/scanblock.bpf.c
--                                (before the kernel builds an skb)
--
-- Both read the outcomes of the attempts from this host's answers, at
-- LOCAL_OUT (XDP sees only what a device receives): a SYN-ACK is a
-- success; a reset answering a SYN (a closed TCP port) or an ICMP port
-- unreachable (a closed UDP port) is a failure. A failure moves the
-- address's score up by one, a success down by one (never below
-- -threshold, so a long good history cannot hide a later scan for
-- long). At the threshold the address is blocked: every packet from it
-- is dropped for block_s seconds. An address not seen for expire_s
-- seconds is forgotten.
--
-- Settings, in the rcu table "scan.config" (read on every packet):
-- threshold (5), block_s (60), expire_s (300), max_sources (16384).
-- State, in rcu tables other states of the namespace can read:
-- "scan.scores" (address -> last seen second * 256 + score + 128) and
-- "scan.blocked" (address -> the second the block ends). Counts, in
-- globals of the state that requires this file:
--
--   lunatik exec scanblock -e 'return tracked, blocks, dropped, untracked'
--
-- Memory: every address tracked (score or block) is also in a queue in
-- the state's own memory, oldest first. Each packet examined for a
-- block examines the queue's head (a few entries) and forgets those that
-- expired, so entries leave by time without a walk over the whole table
-- in the packet path. At most max_sources addresses are tracked; a flood
-- of new sources beyond that goes untracked (counted in `untracked`)
-- instead of growing the tables, and the namespace's rcu quota bounds
-- them anyway (a refused write is caught and counted as untracked too).
-- The global `sweep(n)` forgets up to n expired entries at once, for the
-- control plane.
--
-- Returns a table of two functions: `blocked(d, off)`, whether the IPv4
-- packet at offset off of the data view d comes from a blocked source,
-- and `answers(skb)`, the LOCAL_OUT hook that scores the outcomes.
local nf = require("linux.nf")
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
	local b0, b1 = d:getuint8(off), d:getuint8(off + 1)
	local b2, b3 = d:getuint8(off + 2), d:getuint8(off + 3)
	return string.format("%d.%d.%d.%d", b0, b1, b2, b3)
end

-- This file is compiled inside `require`, where the C stack left to
-- the parser is smaller than for a script's main chunk (lua/account.rs,
-- CSTACK_BUDGET): its code is kept flat, without function literals
-- inside functions, deeply nested blocks or long chains of operators.

-- Forgets a at the queue's head if it expired; true when it did.
local function expire(a, now, expire_s)
	local until_s, s = blocked[a], scores[a]
	if until_s and until_s <= now then
		blocked[a] = nil
		until_s = nil
	end
	if s and now - s // 256 >= expire_s then
		scores[a] = nil
		s = nil
	end
	return not (until_s or s)
end

-- Examines up to n entries at the queue's head: forgets what expired,
-- moves what is still live to the tail. Returns how many it forgot.
-- An entry leaves the head only once it is dealt with: a sweep stopped
-- half-way (its budget or deadline spent, in a long `sweep(n)` from the
-- control plane) leaves it at the head, or at worst queued twice, which
-- `queued` makes harmless; it never drops an address from the queue
-- while the tables still hold it.
function sweep(n)
	local now, expire_s, forgot = now_s(), setting("expire_s", 300), 0
	for _ = 1, math.min(n, tail - head) do
		local a = queue[head]
		if not expire(a, now, expire_s) then
			queue[tail] = a
			tail = tail + 1
		elseif queued[a] then
			queued[a] = nil
			tracked = tracked - 1
			forgot = forgot + 1
		end
		queue[head] = nil
		head = head + 1
	end
	return forgot
end

-- Writes address a's new score, or its block at the threshold; raises
-- when the namespace's rcu quota refuses the write.
local function record(a, score, now, threshold)
	if score < threshold then
		scores[a] = now * 256 + score + 128
		return
	end
	blocked[a] = now + setting("block_s", 60)
	scores[a] = nil
	blocks = blocks + 1
end

-- One outcome for address a: +1 a failure, -1 a success.
local function step(a, delta)
	if blocked[a] then return end
	local now, threshold = now_s(), setting("threshold", 5)
	local s = scores[a]
	local score = s and s % 256 - 128 or 0
	if not queued[a] and tracked >= setting("max_sources", 16384) then
		untracked = untracked + 1
		return
	end
	score = math.max(score + delta, -threshold)
	if not pcall(record, a, score, now, threshold) then
		untracked = untracked + 1
		return
	end
	if queued[a] then return end
	queue[tail] = a
	queued[a] = true
	tail = tail + 1
	tracked = tracked + 1
end

-- The outcome an answer (the IPv4 packet in d) reports: -1 a SYN-ACK
-- (an open port); +1 a RST-ACK with sequence 0 (it answers a SYN: a
-- closed TCP port) or an ICMP port unreachable (a closed UDP port);
-- nil anything else.
local function outcome(d)
	local ihl, proto = (d:getuint8(0) & 0x0f) * 4, d:getuint8(9)
	if proto == 1 then
		if #d < ihl + 2 then return nil end
		if d:getuint8(ihl) == 3 and d:getuint8(ihl + 1) == 3 then return 1 end
		return nil
	end
	if proto ~= 6 or #d < ihl + 20 then return nil end
	local flags = d:getuint8(ihl + 13) & 0x3f
	if flags == 0x12 then return -1 end
	if flags == 0x14 and d:getuint32(ihl + 4) == 0 then return 1 end
	return nil
end

local scan = {}

-- Outgoing answers: the outcome of an attempt from their destination.
function scan.answers(skb)
	local d = skb:data("net")
	if #d < 28 or d:getuint8(0) >> 4 ~= 4 then return nf.action.ACCEPT end
	local delta = outcome(d)
	if delta then step(addr(d, 16), delta) end
	return nf.action.ACCEPT
end

-- Incoming packets: whether the IPv4 packet at `off` of `d` comes from a
-- blocked address (counted in `dropped`). Not IPv4: never.
function scan.blocked(d, off)
	if #d < off + 20 or d:getuint8(off) >> 4 ~= 4 then return false end
	sweep(SWEEP)
	local a = addr(d, off + 12)
	local until_s = blocked[a]
	if not until_s then return false end
	if until_s <= now_s() then
		blocked[a] = nil -- expired; the queue forgets it later
		return false
	end
	dropped = dropped + 1
	return true
end

return scan
