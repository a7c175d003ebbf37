//! Host tests of writable packets (luanetfilter/skb.rs: `skb:data(h,
//! true)`, `skb:checksum()`) with a stand-in for the kernel side that
//! moves the bytes as a cloned packet's copy does, and of
//! examples/dnsrewrite.lua on crafted DNS answers. The VM suite
//! 14-rewrite runs both over real traffic.

use super::data::DataArg;
use super::interp::{Arg, Value};
use super::skb::{Extents, PacketOps, SkbArg};
use super::State;
use core::cell::{Cell, RefCell};
use core::ffi::CStr;

/// A packet of 14 link-layer bytes and `net` network bytes whose
/// `make_writable` copies it to a new buffer, as `skb_ensure_writable`
/// does for a clone.
struct Fake {
    original: Vec<u8>,
    copy: RefCell<Vec<u8>>,
    fail: bool,
    made: Cell<u32>,
    sums: Cell<u32>,
}

impl Fake {
    fn new(net: &[u8], fail: bool) -> Self {
        let mut original = vec![0xee; 14];
        original.extend_from_slice(net);
        Self {
            original,
            copy: RefCell::new(Vec::new()),
            fail,
            made: Cell::new(0),
            sums: Cell::new(0),
        }
    }
}

impl PacketOps for Fake {
    fn make_writable(&self) -> Result<Extents, &'static CStr> {
        if self.fail {
            return Err(c"skb: the packet cannot be made writable (no memory)");
        }
        self.made.set(self.made.get() + 1);
        let mut copy = self.copy.borrow_mut();
        *copy = self.original.clone();
        let p = copy.as_mut_ptr();
        // SAFETY: 14 bytes of link-layer header precede the network ones.
        let net = unsafe { p.add(14) };
        Ok(Extents {
            net: (net, copy.len() - 14),
            mac: Some((p, copy.len())),
        })
    }

    fn checksum(&self) -> Result<bool, &'static CStr> {
        self.sums.set(self.sums.get() + 1);
        Ok(true)
    }
}

/// Calls `hook` of `s` on `fake`'s packet; the results as text, or the
/// error.
fn call(s: &mut State, fake: &Fake) -> Result<Vec<String>, String> {
    let mark = Cell::new(None);
    let skb = SkbArg {
        net: DataArg::read_only(&fake.original[14..]),
        mac: Some(DataArg::read_only(&fake.original)),
        len: fake.original.len() as i64 - 14,
        ifindex: 1,
        mark: 0,
        new_mark: &mark,
        ops: Some(fake),
    };
    s.call(c"hook", &[Arg::Lent(&skb)], |v| {
        v.iter()
            .map(|x| match x {
                Value::Str(b) => format!("Str({:?})", String::from_utf8_lossy(b)),
                x => format!("{x:?}"),
            })
            .collect()
    })
}

#[test]
fn a_view_is_writable_when_asked_and_every_view_follows_the_moved_bytes() {
    let mut s = State::new(0, 0).expect("state");
    s.run(
        "function hook(skb)
            local r, m = skb:data(), skb:data('mac')
            local _, e = pcall(r.setbyte, r, 0, 1)
            local w = skb:data('net', true)
            w:setbyte(1, 0x99)
            local _, em = pcall(m.setbyte, m, 0, 1)
            local m2 = skb:data('mac', true)
            m2:setbyte(0, 0x11)
            return e, r == w, r:getbyte(1), m:getbyte(15), em, m2 == m,
                skb:checksum(), skb:data() == w, pcall(w.setbyte, w, 0, 7)
         end",
    )
    .unwrap();
    let fake = Fake::new(&[0x45, 0, 0, 20], false);
    let got = call(&mut s, &fake).unwrap();
    assert_eq!(
        got,
        [
            "Str(\"read only\")",
            "Bool(true)",
            "Int(153)",
            "Int(153)",
            "Str(\"read only\")",
            "Bool(true)",
            "Bool(true)",
            "Bool(true)",
            "Bool(true)",
        ]
    );
    // The writes went to the private copy, never to the shared bytes;
    // one copy for the call, one checksum.
    assert_eq!(fake.original, [&[0xee; 14][..], &[0x45, 0, 0, 20]].concat());
    assert_eq!(
        *fake.copy.borrow(),
        [&[0x11][..], &[0xee; 13], &[7, 0x99, 0, 20]].concat()
    );
    assert_eq!((fake.made.get(), fake.sums.get()), (1, 1));
}

#[test]
fn checksum_makes_the_packet_writable_and_every_packet_starts_read_only() {
    let mut s = State::new(0, 0).expect("state");
    s.run(
        "function hook(skb)
            local r = skb:data()
            local fixed = skb:checksum()
            return fixed, pcall(r.setbyte, r, 0, 1)
         end",
    )
    .unwrap();
    let fake = Fake::new(&[0x45, 0, 0, 20], false);
    // checksum() makes the bytes private (it writes) but leaves the
    // views as the script asked: read-only.
    let got = call(&mut s, &fake).unwrap();
    assert_eq!(got[..2], ["Bool(true)", "Bool(false)"]);
    assert_eq!((fake.made.get(), fake.sums.get()), (1, 1));
    s.run("function hook(skb) skb:data('net', true) kept = skb return pcall(skb:data().setbyte, skb:data(), 0, 1) end")
        .unwrap();
    assert_eq!(call(&mut s, &fake).unwrap(), ["Bool(true)"]);
    s.run("function hook(skb) local d = skb:data() return pcall(d.setbyte, d, 0, 1) end")
        .unwrap();
    let got = call(&mut s, &fake).unwrap();
    assert_eq!(got[0], "Bool(false)", "a new packet is read-only again");
    // Past its hook, an skb can neither write nor fix checksums.
    for code in ["kept:data('net', true)", "kept:checksum()"] {
        let e = s.run(code).unwrap_err();
        assert!(e.contains("only valid inside its hook"), "{code}: {e}");
    }
    let e = s.run("kept:data('net', 1)").unwrap_err();
    assert!(e.contains("boolean expected"), "{e}");
}

#[test]
fn a_packet_that_cannot_be_made_writable_raises_and_stays_read_only() {
    let mut s = State::new(0, 0).expect("state");
    s.run(
        "function hook(skb)
            local ok, e = pcall(skb.data, skb, 'net', true)
            local d = skb:data()
            return ok, e, pcall(d.setbyte, d, 0, 1)
         end",
    )
    .unwrap();
    let fake = Fake::new(&[0x45, 0, 0, 20], true);
    let got = call(&mut s, &fake).unwrap();
    assert_eq!(got[0], "Bool(false)");
    assert!(got[1].contains("cannot be made writable"), "{got:?}");
    assert_eq!(got[2], "Bool(false)");
}

/// Stand-ins for the kernel libraries and a DNS answer builder for
/// examples/dnsrewrite.lua: `answer(qname, records, flags)` makes an
/// IPv4/UDP datagram from port 53 (records: `{name, type, rdata}`, name
/// "@" for a pointer to the question), `hook(pkt)` runs the hook on it
/// with an skb whose writable view and checksum are counted.
const MOCKS: &str = r#"
data = require("data")
local real_require = require
tables, hooks = {}, {}
local mocks = {
	["linux.nf"] = {action = {DROP = 0, ACCEPT = 1}, proto = {IPV4 = 2},
		inet = {PRE_ROUTING = 0}, ip = {pri = {MANGLE = -150}}},
	netfilter = {register = function(t) hooks[#hooks + 1] = t end},
	rcu = {table = function(n) tables[n] = tables[n] or {} return tables[n] end},
}
require = function(n) return mocks[n] or real_require(n) end
local function labels(name)
	local s = ""
	for l in name:gmatch("[^.]+") do s = s .. string.char(#l) .. l end
	return s .. "\0"
end
function answer(qname, records, flags)
	local rr = ""
	for _, r in ipairs(records) do
		local owner = r[1] == "@" and "\xc0\x0c" or labels(r[1])
		rr = rr .. owner .. string.pack(">I2I2I4s2", r[2], 1, 60, r[3])
	end
	local dns = string.pack(">I2I2I2I2I2I2", 0x1234, flags or 0x8180, 1, #records, 0, 0)
		.. labels(qname) .. string.pack(">I2I2", 1, 1) .. rr
	local udp = string.pack(">I2I2I2I2", 53, 40000, 8 + #dns, 0) .. dns
	return string.pack(">BBI2I2I2BBI2", 0x45, 0, 20 + #udp, 0, 0, 64, 17, 0)
		.. "\10\0\0\2\10\0\0\1" .. udp
end
function view(s)
	local d = data.new(#s)
	d:setstring(0, s)
	return d
end
made, sums = 0, 0
function hook(pkt)
	local skb = {
		data = function(_, h, w) if w then made = made + 1 end return pkt end,
		checksum = function() sums = sums + 1 return true end,
	}
	return hooks[1].hook(skb)
end
"#;

fn dnsrewrite() -> State {
    let mut s = State::new(0, 0).expect("state");
    s.run(MOCKS).unwrap();
    s.run(include_str!("../examples/dnsrewrite.lua")).unwrap();
    s.run("tables['dns.rewrite']['www.example'] = '10.9.8.7'")
        .unwrap();
    s
}

#[test]
fn dnsrewrite_rewrites_the_a_records_of_one_name_only() {
    let mut s = dnsrewrite();
    let got = s
        .run(
            "local a = answer('WWW.example', {{'@', 5, '\\3cdn\\7example\\0'},
                {'cdn.example', 1, '\\1\\2\\3\\4'}, {'@', 28, string.rep('\\0', 16)},
                {'cdn.example', 1, '\\5\\6\\7\\8'}})
             local p = view(a)
             local v = hook(p)
             local want = a:gsub('\\1\\2\\3\\4', '\\10\\9\\8\\7'):gsub('\\5\\6\\7\\8', '\\10\\9\\8\\7')
             local other = answer('mail.example', {{'@', 1, '\\1\\2\\3\\4'}})
             local q = view(other)
             local query = answer('www.example', {{'@', 1, '\\1\\2\\3\\4'}}, 0x0100)
             local r = view(query)
             return v, tostring(p) == want, made, sums, rewritten,
                hook(q), tostring(q) == other, hook(r), tostring(r) == query, made, answers",
        )
        .unwrap();
    assert_eq!(
        got,
        ["1", "true", "1", "1", "2", "1", "true", "1", "true", "1", "3"]
    );
}

#[test]
fn dnsrewrite_leaves_truncated_and_malformed_answers_alone() {
    let mut s = dnsrewrite();
    // Every cut of an answer to rewrite, with the headers' lengths still
    // claiming the whole: accepted, unchanged, never an error (which
    // would drop the packet).
    let got = s
        .run(
            "local a = answer('www.example', {{'@', 1, '\\1\\2\\3\\4'}, {'@', 1, '\\5\\6\\7\\8'}})
             for cut = 0, #a - 1 do
                local s = a:sub(1, cut)
                local p = view(s)
                assert(hook(p) == 1, cut)
                assert(tostring(p) == s, cut)
             end
             return made",
        )
        .unwrap();
    assert_eq!(got, ["0"]);
    // Malformed: more answers than present, a bad label, a record longer
    // than the message, an unusable address in the table.
    let got = s
        .run(
            "local bad = {}
             local a = answer('www.example', {{'@', 1, '\\1\\2\\3\\4'}})
             bad[1] = a:sub(1, 34) .. '\\0\\9' .. a:sub(37)
             bad[2] = a:sub(1, 40) .. '\\64' .. a:sub(42)
             bad[3] = a:sub(1, #a - 6) .. '\\0\\9' .. a:sub(#a - 3)
             for i, s in ipairs(bad) do
                local p = view(s)
                assert(hook(p) == 1, i)
                assert(tostring(p) == s, i)
             end
             tables['dns.rewrite']['www.example'] = '10.9.8.256'
             local p = view(a)
             assert(hook(p) == 1 and tostring(p) == a)
             return made, rewritten",
        )
        .unwrap();
    assert_eq!(got, ["0", "0"]);
}
