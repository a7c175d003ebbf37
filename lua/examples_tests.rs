//! Host tests of the use-case examples (examples/l7policy.lua,
//! examples/scanblock.lua with examples/scanblock/common.lua,
//! docs/examples.md): their packet parsing and
//! decisions, with the real `data` and `byteorder` libraries and
//! stand-ins for the kernel's (`rcu` tables as Lua tables, `netfilter`
//! recording the hooks, `linux.time` a clock the test moves). The VM
//! suite 09-examples runs the same scripts over real traffic.

use super::State;

/// Stand-ins for the kernel libraries, and packet builders: `tcp(src,
/// dst, sport, dport, seq, flags, payload)` and `icmp(src, dst, type,
/// code)` make IPv4 packets as data views, `hook(i, pkt)` runs the i-th
/// registered hook on one.
const MOCKS: &str = r#"
data = require("data")
local real_require = require
tables, hooks, now = {}, {}, 1000 * 1000000000
local mocks = {
	["linux.nf"] = {action = {DROP = 0, ACCEPT = 1}, proto = {INET = 1, IPV4 = 2},
		inet = {PRE_ROUTING = 0, LOCAL_IN = 1, LOCAL_OUT = 3}, ip = {pri = {FIRST = -1000, FILTER = 0}}},
	netfilter = {register = function(t) hooks[#hooks + 1] = t end},
	rcu = {table = function(n) tables[n] = tables[n] or {} return tables[n] end},
	linux = {time = function() return now end},
}
-- Script files a test provides by name (`files`, filled by `with_files`),
-- loaded as `require` loads them from /lib/modules/lua in the kernel.
files = {}
require = function(n)
	if not mocks[n] and files[n] then mocks[n] = assert(load(files[n], "@" .. n))() end
	return mocks[n] or real_require(n)
end
local function ip(a)
	local b = {}
	for x in a:gmatch("%d+") do b[#b + 1] = tonumber(x) end
	return string.char(table.unpack(b))
end
local function view(s)
	local d = data.new(#s)
	d:setstring(0, s)
	return d
end
function tcp(src, dst, sport, dport, seq, flags, payload)
	local t = string.pack(">I2I2I4I4BBI2I2I2", sport, dport, seq, 0, 0x50, flags, 1000, 0, 0) .. (payload or "")
	return view(string.pack(">BBI2I2I2BBI2", 0x45, 0, 20 + #t, 0, 0, 64, 6, 0) .. ip(src) .. ip(dst) .. t)
end
function icmp(src, dst, typ, code)
	local t = string.pack(">BBI2I4", typ, code, 0, 0) .. string.rep("x", 28)
	return view(string.pack(">BBI2I2I2BBI2", 0x45, 0, 20 + #t, 0, 0, 64, 1, 0) .. ip(src) .. ip(dst) .. t)
end
function hook(i, pkt) return hooks[i].hook({data = function() return pkt end}) end
"#;

fn state(script: &str) -> State {
    with_files(script, &[])
}

/// A state with the stand-ins, the script files `files` (name, text)
/// that `require` finds by name, and then `script` run in it.
fn with_files(script: &str, files: &[(&str, &str)]) -> State {
    let mut s = State::new(0, 0).expect("state");
    s.run(MOCKS).unwrap();
    for (name, text) in files {
        assert!(!text.contains("]==]"), "{name} cannot be quoted");
        s.run(&format!("files[\"{name}\"] = [==[{text}]==]"))
            .unwrap();
    }
    s.run(script).unwrap();
    s
}

/// The verdicts (1 accept, 0 drop) of each payload segment of one
/// connection from `src`, a segment dropped not advancing the sequence.
const CONN: &str = r#"
port = 40000
function conn(src, ...)
	port = port + 1
	local seq = 1000
	assert(hook(1, tcp(src, "10.0.0.2", port, 80, seq, 0x02)) == 1)
	seq = seq + 1
	local out = {}
	for _, p in ipairs({...}) do
		local v = hook(1, tcp(src, "10.0.0.2", port, 80, seq, 0x18, p))
		out[#out + 1] = v
		if v == 1 then seq = seq + #p end
	end
	return table.concat(out, ",")
end
local r = tables["l7.rules"]
r["* GET /public/"] = true
r["10.0.0.1 POST /admin/"] = true
r["* GET /public/secret/"] = false
"#;

#[test]
fn l7policy_judges_each_request_of_the_stream() {
    let mut s = state(include_str!("../examples/l7policy.lua"));
    s.run(CONN).unwrap();
    let long = "a".repeat(3000);
    let cases: &[(&str, &str)] = &[
        (
            r#""10.0.0.9", "GET /public/x HTTP/1.1\r\nHost: a\r\n\r\n""#,
            "1",
        ),
        (r#""10.0.0.9", "POST /admin/x HTTP/1.1\r\n\r\n""#, "0"),
        (
            r#""10.0.0.1", "POST /admin/x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc""#,
            "1",
        ),
        // A body in its own segment is skipped, not parsed as a request.
        (
            r#""10.0.0.1", "POST /admin/x HTTP/1.1\r\nContent-Length: 3\r\n\r\n", "GET""#,
            "1,1",
        ),
        // Split request lines: the segment completing the line decides.
        (r#""10.0.0.9", "GET /pub", "lic/x HTTP/1.1\r\n\r\n""#, "1,1"),
        (r#""10.0.0.9", "GET /adm", "in/x HTTP/1.1\r\n\r\n""#, "1,0"),
        // Pipelined: each request is judged, one denial drops the segment.
        (
            r#""10.0.0.9", "GET /public/a HTTP/1.1\r\n\r\nGET /public/b HTTP/1.1\r\n\r\n""#,
            "1",
        ),
        (
            r#""10.0.0.9", "GET /public/a HTTP/1.1\r\n\r\nPOST /admin/b HTTP/1.1\r\n\r\n""#,
            "0",
        ),
        (
            r#""10.0.0.9", "GET /public/a HTTP/1.1\r\n\r\n", "POST /admin/b HTTP/1.1\r\n\r\n""#,
            "1,0",
        ),
        (r#""10.0.0.9", "get /public/a HTTP/1.1\r\n\r\n""#, "0"),
        (
            &format!(r#""10.0.0.9", "GET /public/{long} HTTP/1.1\r\n\r\n""#),
            "0",
        ),
        (
            r#""10.0.0.9", "GET /public/" .. string.rep("a", 1500), string.rep("a", 1000)"#,
            "1,0",
        ),
        (r#""10.0.0.9", "\22\3\1\0\5hello""#, "0"),
        (r#""10.0.0.9", "HELLO\r\n""#, "0"),
        (
            r#""10.0.0.9", "GET /public/../admin/x HTTP/1.1\r\n\r\n""#,
            "0",
        ),
        (
            r#""10.0.0.9", "GET /public/%2e%2e/admin/x HTTP/1.1\r\n\r\n""#,
            "0",
        ),
        (
            r#""10.0.0.9", "GET /public/secret/x HTTP/1.1\r\n\r\n""#,
            "0",
        ),
        (r#""10.0.0.9", "GET /public HTTP/1.1\r\n\r\n""#, "0"),
        (
            r#""10.0.0.9", "GET /public/?q=/admin/ HTTP/1.0\r\n\r\n""#,
            "1",
        ),
        (
            r#""10.0.0.9", "GET /public/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n""#,
            "0",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(
            s.eval(&format!("return conn({args})")).as_deref(),
            Ok(*want),
            "{args}"
        );
    }
    let counts = s
        .eval(
            r#"return table.concat({hits["* GET /public/"], hits["10.0.0.1 POST /admin/"],
                hits.default, hits.malformed, hits.toolong, hits.badpath, hits.body,
                hits["* GET /public/secret/"], allowed, denied}, " ")"#,
        )
        .unwrap();
    assert_eq!(counts, "6 2 6 2 2 2 1 1 8 14");
}

#[test]
fn l7policy_drops_a_gap_and_passes_retransmissions() {
    let mut s = state(include_str!("../examples/l7policy.lua"));
    s.run(CONN).unwrap();
    let got = s
        .eval(
            r#"local a = "10.0.0.9"
            local v = {hook(1, tcp(a, "10.0.0.2", 5, 80, 99, 0x02))}
            local seg = "GET /public/x HTTP/1.1\r\n"
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 5, 80, 100 + #seg, 0x18, "\r\n")) -- a gap
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 5, 80, 100, 0x18, seg))
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 5, 80, 100, 0x18, seg)) -- again
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 5, 80, 100 + #seg, 0x19, "\r\n")) -- FIN
            return table.concat(v, ",") .. " " .. nflows .. " " .. hits["* GET /public/"]"#,
        )
        .unwrap();
    assert_eq!(got, "1,0,1,1,1 0 1");
    // A SYN in the middle of a connection starts the flow anew: bytes
    // before its sequence number are not taken for retransmissions.
    let got = s
        .eval(
            r#"local a = "10.0.0.9"
            local v = {hook(1, tcp(a, "10.0.0.2", 6, 80, 99, 0x02))}
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 6, 80, 100, 0x18, "GET /public/x HTTP/1.1\r\n"))
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 6, 80, 100000, 0x02))
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 6, 80, 124, 0x18, "POST /admin/x HTTP/1.1\r\n"))
            v[#v + 1] = hook(1, tcp(a, "10.0.0.2", 6, 80, 100, 0x18, "POST /admin/x HTTP/1.1\r\n"))
            return table.concat(v, ",")"#,
        )
        .unwrap();
    assert_eq!(got, "1,1,1,0,0");
}

#[test]
fn scanblock_blocks_scanners_and_forgets_by_time() {
    let mut s = with_files(
        include_str!("../examples/scanblock.lua"),
        &[(
            "examples.scanblock.common",
            include_str!("../examples/scanblock/common.lua"),
        )],
    );
    s.run(
        r#"function probe(src, port, open)
            if hook(1, tcp(src, "10.0.0.2", 5000, port, 1, 0x02)) == 0 then return "blocked" end
            if open then hook(2, tcp("10.0.0.2", src, port, 5000, 77, 0x12)) return "open" end
            hook(2, tcp("10.0.0.2", src, port, 5000, 0, 0x14))
            return "refused"
        end
        function tally(src, first, last, open)
            local n = {}
            for p = first, last do local r = probe(src, p, open) n[r] = (n[r] or 0) + 1 end
            return (n.open or 0) .. " " .. (n.refused or 0) .. " " .. (n.blocked or 0)
        end"#,
    )
    .unwrap();
    // A scan: five failures, then every probe is dropped.
    assert_eq!(
        s.eval(r#"return tally("10.0.0.9", 1, 200)"#).as_deref(),
        Ok("0 5 195")
    );
    // A client with only successes is never blocked.
    assert_eq!(
        s.eval(r#"return tally("10.0.0.1", 80, 80 + 49, true)"#)
            .as_deref(),
        Ok("50 0 0")
    );
    // The block ends after block_s (60 s).
    s.run("now = now + 59 * 1000000000").unwrap();
    assert_eq!(
        s.eval(r#"return probe("10.0.0.9", 1)"#).as_deref(),
        Ok("blocked")
    );
    s.run("now = now + 1 * 1000000000").unwrap();
    assert_eq!(
        s.eval(r#"return probe("10.0.0.9", 1)"#).as_deref(),
        Ok("refused")
    );
    // UDP to closed ports: port unreachable answers are failures.
    assert_eq!(
        s.eval(
            r#"for i = 1, 5 do hook(2, icmp("10.0.0.2", "10.0.0.7", 3, 3)) end
            return tables["scan.blocked"]["10.0.0.7"] ~= nil"#
        )
        .as_deref(),
        Ok("true")
    );
    // A flood of new sources beyond max_sources goes untracked.
    assert_eq!(
        s.eval(
            r#"tables["scan.config"].max_sources = 1000
            for i = 1, 10000 do probe("10.99." .. i // 256 .. "." .. i % 256, 22) end
            local n = 0 for _ in pairs(tables["scan.scores"]) do n = n + 1 end
            return tracked .. " " .. untracked .. " " .. n"#
        )
        .as_deref(),
        Ok("1000 9003 999")
    );
    // After expire_s every entry is forgotten.
    assert_eq!(
        s.eval(
            r#"now = now + 300 * 1000000000
            local forgot = sweep(100000)
            local n = 0
            for _, t in ipairs({"scan.scores", "scan.blocked"}) do for _ in pairs(tables[t]) do n = n + 1 end end
            return forgot .. " " .. tracked .. " " .. n"#
        )
        .as_deref(),
        Ok("1000 0 0")
    );
}

/// `dns(name)`: an IPv4 UDP datagram to port 53 holding a DNS query for
/// `name`, as a data view.
const DNS: &str = r#"
function dns(name)
	local q = string.pack(">I2I2I2I2I2I2", 0x1234, 0x0100, 1, 0, 0, 0)
	for label in name:gmatch("[^.]+") do q = q .. string.char(#label) .. label end
	q = q .. "\0" .. string.pack(">I2I2", 1, 1)
	local u = string.pack(">I2I2I2I2", 40000, 53, 8 + #q, 0) .. q
	local s = string.pack(">BBI2I2I2BBI2", 0x45, 0, 20 + #u, 0, 0, 64, 17, 0) .. "\10\0\0\1\10\0\0\2" .. u
	local d = data.new(#s)
	d:setstring(0, s)
	return d
end
"#;

#[test]
fn dnsset_drops_listed_names_and_names_under_them() {
    let list = "local t = {} for i = 1, 1000 do t[i] = 'h' .. i .. '.Blocked.example' end return t";
    let mut s = with_files(
        include_str!("../examples/dnsset.lua"),
        &[("dnsset.list", list)],
    );
    s.run(DNS).unwrap();
    let verdicts = s
        .run(
            "local out = {}
             for _, n in ipairs({'h7.blocked.example', 'x.h1000.blocked.example', 'H1.BLOCKED.EXAMPLE',
                    'blocked.example', 'h1001.blocked.example', 'h7.blocked.example.org'}) do
                out[#out + 1] = hook(1, dns(n))
             end
             return table.concat(out, ','), queries, blocked, labels[1], listed",
        )
        .unwrap();
    assert_eq!(verdicts, ["0,0,0,1,1,1", "6", "3", "3", "1000"]);
    // A list of names to labels counts the drops per label.
    let list = "return { ['ads.example'] = 1, ['mal.example'] = 2, ['both.example'] = 3 }";
    let mut s = with_files(
        include_str!("../examples/dnsset.lua"),
        &[("dnsset.list", list)],
    );
    s.run(DNS).unwrap();
    let counts = s
        .run(
            "for _, n in ipairs({'a.ads.example', 'mal.example', 'x.mal.example', 'both.example',
                    'example'}) do hook(1, dns(n)) end
             return labels[1], labels[2], labels[3], blocked, queries",
        )
        .unwrap();
    assert_eq!(counts, ["1", "2", "1", "4", "5"]);
}
