//! Host tests of writable packets (luanetfilter/skb.rs: `skb:data(h,
//! true)`, `skb:checksum()`) with a stand-in for the kernel side that
//! moves the bytes as a cloned packet's copy does.

use super::data::DataArg;
use super::skb::{Extents, PacketOps, SkbArg};
use super::vm::{Arg, Value};
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
