//! `lunatik-fail-nth N COMMAND [ARGS...]`: runs COMMAND with the kernel's
//! fault injection set to fail the Nth allocation COMMAND makes inside the
//! system calls through which a command reaches the module (suite
//! 15-faults, docs/testing.md).
//!
//! The kernel's `/proc/PID/fail-nth` makes the Nth call of that task into
//! the fault injection (`failslab`, `fail_page_alloc`) fail, whatever the
//! global `probability` says. Armed for the whole process, the counter
//! would mostly fail the process's own start (the dynamic loader's
//! mappings, a stack page), which ends it with a signal the module has
//! nothing to do with. So this tool runs COMMAND under ptrace, stops it
//! at each system call, and arms the counter only for the calls in
//! [`ARMED`] (netlink requests, module loading and unloading, namespace
//! creation and deletion), from their entry to their exit, carrying what
//! is left of N from one such call to the next. Everything COMMAND's
//! thread does in the kernel inside those calls (a generic netlink
//! request is handled in the sender's `sendmsg`, a module's init in
//! `finit_module`) can see the failure; work done in softirq or in
//! workqueues cannot.
//!
//! When COMMAND exits, the tool prints on standard error one line,
//! `lunatik-fail-nth: injected` (the Nth call happened and failed) or
//! `lunatik-fail-nth: not reached (K left)` (COMMAND made fewer than N
//! calls, so nothing failed), then exits with COMMAND's exit code (128 +
//! the signal if a signal killed it). A sweep over N ends at the first N
//! that is not reached. Exit code 125 means the tool itself failed.

use std::ffi::CString;
use std::process::ExitCode;

/// What the tool reports when it could not do its job.
const TOOL_FAILED: u8 = 125;

/// The x86_64 system calls during which the counter is armed: those a
/// command reaches the module through.
const ARMED: &[libc::c_long] = &[
    libc::SYS_sendto,
    libc::SYS_sendmsg,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_unshare,
    libc::SYS_umount2,
];

/// The system call the stopped `pid` is entering.
fn syscall_number(pid: libc::pid_t) -> Option<libc::c_long> {
    // SAFETY: all-zero bytes are a valid `user_regs_struct` (integers).
    let mut regs: libc::user_regs_struct = unsafe { core::mem::zeroed() };
    // SAFETY: PTRACE_GETREGS writes one `user_regs_struct` to the pointer.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            0,
            &mut regs as *mut libc::user_regs_struct,
        )
    };
    (r == 0).then_some(regs.orig_rax as libc::c_long)
}

fn fail(what: &str) -> ExitCode {
    eprintln!(
        "lunatik-fail-nth: {what}: {}",
        std::io::Error::last_os_error()
    );
    ExitCode::from(TOOL_FAILED)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), true) = (
        args.first().and_then(|n| n.parse::<u32>().ok()),
        args.len() >= 2,
    ) else {
        eprintln!("usage: lunatik-fail-nth N COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    let Ok(argv) = args[1..]
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<Vec<_>, _>>()
    else {
        eprintln!("lunatik-fail-nth: an argument holds a NUL byte");
        return ExitCode::from(2);
    };
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(core::ptr::null());

    // SAFETY: the process is single-threaded, so the child may call any
    // function until it execs.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return fail("fork");
    }
    if pid == 0 {
        // SAFETY: PTRACE_TRACEME takes no pointers; `ptrs` is a
        // NULL-terminated array of C strings that live until the exec.
        unsafe {
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::execvp(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
    }

    let mut status = 0;
    // The first stop is the SIGTRAP after a successful execve; without
    // one, the child's exec failed and it exited with 127.
    // SAFETY: `status` is a valid out pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return fail("waitpid");
    }
    if !libc::WIFSTOPPED(status) {
        eprintln!("lunatik-fail-nth: {} could not be started", args[1]);
        return ExitCode::from(127);
    }
    let options = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
    // SAFETY: PTRACE_SETOPTIONS takes the options as its data argument.
    if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) } < 0 {
        return fail("PTRACE_SETOPTIONS");
    }
    let counter = format!("/proc/{pid}/fail-nth");
    // What is left of N; 0 once the failure is injected.
    let mut left = n;
    // Whether the tracee is inside a system call (stops alternate between
    // entries and exits), and whether that call is armed.
    let (mut inside, mut armed) = (false, false);
    let mut signal = 0;
    loop {
        // SAFETY: PTRACE_SYSCALL takes the signal to deliver as its data.
        if unsafe { libc::ptrace(libc::PTRACE_SYSCALL, pid, 0, signal) } < 0 {
            return fail("PTRACE_SYSCALL");
        }
        // SAFETY: `status` is a valid out pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return fail("waitpid");
        }
        signal = 0;
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            break;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let sig = libc::WSTOPSIG(status);
        if sig == libc::SIGTRAP | 0x80 {
            if !inside {
                inside = true;
                armed = left > 0 && syscall_number(pid).is_some_and(|nr| ARMED.contains(&nr));
                if armed && std::fs::write(&counter, left.to_string()).is_err() {
                    return fail(&format!("writing {counter}"));
                }
            } else {
                inside = false;
                if armed {
                    armed = false;
                    let Some(now) = std::fs::read_to_string(&counter)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok())
                    else {
                        return fail(&format!("reading {counter}"));
                    };
                    left = now;
                    // Disarm until the next armed call.
                    if std::fs::write(&counter, "0").is_err() {
                        return fail(&format!("writing {counter}"));
                    }
                }
            }
        } else if sig != libc::SIGTRAP {
            // A signal for COMMAND: pass it on (a plain SIGTRAP is the
            // stop after a further execve of COMMAND's, which ptrace made).
            signal = sig;
        }
    }
    if left == 0 {
        eprintln!("lunatik-fail-nth: injected");
    } else {
        eprintln!("lunatik-fail-nth: not reached ({left} left)");
    }
    if libc::WIFEXITED(status) {
        ExitCode::from(libc::WEXITSTATUS(status) as u8)
    } else {
        ExitCode::from(128 + libc::WTERMSIG(status) as u8)
    }
}
