//! Compiles build/lua/src (prepared by scripts/lua-source.sh) with
//! lua/luaconf.h for the host, so `cargo test` exercises the same Lua
//! configuration as the kernel module.

use std::path::PathBuf;

/// The Lua units the module links, in the same list as Kbuild.
const LUA_UNITS: &[&str] = &[
    "lapi", "lcode", "lctype", "ldebug", "ldo", "ldump", "lfunc", "lgc", "llex", "lmem", "lobject",
    "lopcodes", "lparser", "lstate", "lstring", "ltable", "ltm", "lundump", "lvm", "lzio",
    "lauxlib", "lbaselib", "lcorolib", "lstrlib", "ltablib", "lutf8lib",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let src = manifest.join("../build/lua/src");
    if !src.join(".lunatik-key").exists() {
        panic!(
            "Lua sources are not prepared in {}: run scripts/lua-source.sh (make does it)",
            src.display()
        );
    }
    let mut build = cc::Build::new();
    build
        .include(&src)
        .warnings(false)
        .flag_if_supported("-fno-strict-aliasing");
    for unit in LUA_UNITS {
        build.file(src.join(format!("{unit}.c")));
    }
    build.file(manifest.join("lunatik_number.c"));
    build.compile("lunatik_lua");
    println!(
        "cargo:rerun-if-changed={}",
        src.join(".lunatik-key").display()
    );
    println!("cargo:rerun-if-changed=lunatik_number.c");
}
