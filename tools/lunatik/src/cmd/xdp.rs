//! `lunatik xdp`: loads eBPF objects whose XDP programs call Lua through
//! the module's kfuncs, attaches them to devices, lists and detaches them,
//! and runs them on given frames (`BPF_PROG_TEST_RUN`), with libbpf
//! (libbpf-rs), which resolves `__ksym` kfunc externs in module BTF
//! (docs/xdp.md, "Loading").

use libbpf_rs::{MapCore, MapFlags, Object, ObjectBuilder, ProgramInput, Xdp, XdpFlags};
use lunatik::cli::{Mode, XdpCommand};
use std::os::fd::AsFd;
use std::path::Path;

/// The attach flags of a mode.
trait ModeFlags {
    fn flags(self) -> XdpFlags;
}

impl ModeFlags for Mode {
    fn flags(self) -> XdpFlags {
        match self {
            Mode::Native => XdpFlags::DRV_MODE,
            Mode::Generic => XdpFlags::SKB_MODE,
        }
    }
}

/// A failure of an `xdp` verb, as one line.
pub type Error = String;

fn ifindex(dev: &str) -> Result<i32, Error> {
    let name = std::ffi::CString::new(dev).map_err(|_| format!("bad device name {dev:?}"))?;
    // SAFETY: a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if i == 0 {
        return Err(format!("no such device: {dev}"));
    }
    Ok(i as i32)
}

fn load(object: &Path, maps: &[String]) -> Result<Object, Error> {
    let open = ObjectBuilder::default()
        .open_file(object)
        .map_err(|e| format!("cannot open {}: {e}", object.display()))?;
    let obj = open.load().map_err(|e| {
        format!(
            "cannot load {} (is lunatik.ko loaded?): {e}",
            object.display()
        )
    })?;
    for spec in maps {
        fill_map(&obj, spec)?;
    }
    Ok(obj)
}

/// Fills a hash map from a file: one key a line, padded with zeros to the
/// key size; every value is 1 (then zeros).
fn fill_map(obj: &Object, spec: &str) -> Result<(), Error> {
    let (name, file) = spec
        .split_once('=')
        .ok_or_else(|| format!("--map wants MAP=FILE, not {spec:?}"))?;
    let map = obj
        .maps()
        .find(|m| m.name() == name)
        .ok_or_else(|| format!("no map {name:?} in the object"))?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let (ksize, vsize) = (map.key_size() as usize, map.value_size() as usize);
    let mut value = vec![0u8; vsize];
    if let Some(v) = value.first_mut() {
        *v = 1;
    }
    for line in text.lines().filter(|l| !l.is_empty()) {
        if line.len() > ksize {
            return Err(format!("key {line:?} longer than {ksize} bytes"));
        }
        let mut key = vec![0u8; ksize];
        key[..line.len()].copy_from_slice(line.as_bytes());
        map.update(&key, &value, MapFlags::ANY)
            .map_err(|e| format!("cannot add {line:?} to {name}: {e}"))?;
    }
    Ok(())
}

/// The program `prog` of `obj`, or its first.
fn program<'o>(obj: &'o Object, prog: Option<&str>) -> Result<libbpf_rs::ProgramMut<'o>, Error> {
    let mut progs = obj.progs_mut();
    match prog {
        None => progs
            .next()
            .ok_or_else(|| "the object has no program".to_string()),
        Some(p) => progs
            .find(|q| q.name() == p)
            .ok_or_else(|| format!("no program {p:?} in the object")),
    }
}

fn parse_hex(path: &Path) -> Result<Vec<u8>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("{}: odd number of hex digits", path.display()));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("{}: not hexadecimal", path.display()))
        })
        .collect()
}

/// The program attached to `ifindex` in each mode, by id (0 for none).
fn attached(ifindex: i32) -> Vec<(Mode, u32)> {
    // Xdp::query_id needs a descriptor only for its type; any will do.
    let null = std::fs::File::open("/dev/null").ok();
    let Some(null) = null else { return Vec::new() };
    let xdp = Xdp::new(null.as_fd());
    [Mode::Native, Mode::Generic]
        .into_iter()
        .filter_map(|m| match xdp.query_id(ifindex, m.flags()) {
            Ok(id) if id != 0 => Some((m, id)),
            _ => None,
        })
        .collect()
}

/// Runs an `xdp` verb.
pub fn run(cmd: XdpCommand) -> Result<(), Error> {
    match cmd {
        XdpCommand::Attach {
            dev,
            object,
            prog,
            mode,
            maps,
        } => {
            let index = ifindex(&dev)?;
            let obj = load(&object, &maps)?;
            let p = program(&obj, prog.as_deref())?;
            // Through netlink (not a bpf link): the device keeps the
            // program after this process exits, as `ip link set ... xdp`
            // does.
            Xdp::new(p.as_fd())
                .attach(index, mode.flags())
                .map_err(|e| format!("cannot attach to {dev} in {} mode: {e}", mode.name()))?;
            Ok(())
        }
        XdpCommand::Detach { dev } => {
            let index = ifindex(&dev)?;
            let modes = attached(index);
            if modes.is_empty() {
                return Err(format!("no XDP program on {dev}"));
            }
            let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
            for (mode, _) in modes {
                Xdp::new(null.as_fd())
                    .detach(index, mode.flags())
                    .map_err(|e| format!("cannot detach from {dev}: {e}"))?;
            }
            Ok(())
        }
        XdpCommand::List => {
            let mut devs: Vec<String> = std::fs::read_dir("/sys/class/net")
                .map_err(|e| format!("cannot list devices: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            devs.sort();
            for dev in devs {
                let Ok(index) = ifindex(&dev) else { continue };
                for (mode, id) in attached(index) {
                    println!("{dev}\t{}\tprog {id}", mode.name());
                }
            }
            Ok(())
        }
        XdpCommand::Test {
            object,
            prog,
            data,
            repeat,
            truncations,
            maps,
        } => {
            let frame = parse_hex(&data)?;
            let obj = load(&object, &maps)?;
            let p = program(&obj, prog.as_deref())?;
            let run = |bytes: &[u8], repeat: u32| {
                let input = ProgramInput {
                    data_in: Some(bytes),
                    repeat,
                    ..Default::default()
                };
                p.test_run(input)
                    .map(|out| (out.return_value as i32, out.duration.as_nanos()))
            };
            if truncations {
                for len in 0..=frame.len() {
                    match run(&frame[..len], 1) {
                        Ok((r, _)) => println!("{len} retval {r}"),
                        Err(e) => println!("{len} error {:?}", e.kind()),
                    }
                }
                return Ok(());
            }
            let (r, ns) = run(&frame, repeat).map_err(|e| format!("test run failed: {e}"))?;
            if repeat > 1 {
                println!("retval {r}\tns {ns}");
            } else {
                println!("retval {r}");
            }
            Ok(())
        }
    }
}
