//! Compiles build/lua/src (prepared by scripts/lua-source.sh) with
//! lua/luaconf.h for the host, so `cargo test` exercises the same Lua
//! configuration as the kernel module.
//!
//! With `LUNATIK_SANITIZE=1` (set by `make asan`) the C is built with
//! AddressSanitizer and UndefinedBehaviorSanitizer, and the crate gets the
//! `lunatik_sanitize` cfg, which enables the sanitizer-only tests.

use std::path::PathBuf;

/// The Lua units the module links, read from the make fragment Kbuild
/// includes, so both builds compile the same list.
fn lua_units(manifest: &std::path::Path) -> Vec<String> {
    let mk = std::fs::read_to_string(manifest.join("units.mk")).expect("lua/units.mk");
    let (_, list) = mk
        .split_once("LUA_UNITS :=")
        .expect("LUA_UNITS in lua/units.mk");
    list.replace('\\', " ")
        .split_whitespace()
        .map(String::from)
        .collect()
}

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
        // The kernel builds Lua with -O2; frame sizes, and so the C stack
        // bound, behave alike only at the same optimisation.
        .opt_level(2)
        .flag_if_supported("-fno-strict-aliasing");
    println!("cargo::rustc-check-cfg=cfg(lunatik_sanitize)");
    println!("cargo:rerun-if-env-changed=LUNATIK_SANITIZE");
    if std::env::var("LUNATIK_SANITIZE").is_ok_and(|v| v == "1") {
        // The runtime comes from the Rust side (`-Zsanitizer=address`, see
        // the Makefile's asan target), whose ASan runtime also carries the
        // UBSan handlers, so nothing here links one. Undefined behaviour
        // aborts like a memory error does, instead of printing and going on,
        // so a test cannot pass over it.
        build
            .flag("-fsanitize=address,undefined")
            .flag("-fno-sanitize-recover=undefined")
            .flag("-fno-omit-frame-pointer");
        println!("cargo:rustc-cfg=lunatik_sanitize");
    }
    for unit in lua_units(&manifest) {
        build.file(src.join(format!("{unit}.c")));
    }
    build.file(manifest.join("lunatik_number.c"));
    build.file(manifest.join("lunatik_cstack.c"));
    build.file(manifest.join("lunatik_work.c"));
    build.compile("lunatik_lua");
    println!(
        "cargo:rerun-if-changed={}",
        src.join(".lunatik-key").display()
    );
    println!("cargo:rerun-if-changed=lunatik_number.c");
    println!("cargo:rerun-if-changed=lunatik_cstack.c");
    println!("cargo:rerun-if-changed=lunatik_work.c");
    println!("cargo:rerun-if-changed=units.mk");
}
