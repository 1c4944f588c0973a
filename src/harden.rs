//! Process-wide protections of a tool that holds bearer tokens, passwords
//! and console cookies in memory.
//!
//! On Linux the process makes itself non-dumpable (`prctl(PR_SET_DUMPABLE,
//! 0)`) before it reads anything: no core file is written if it crashes,
//! other processes of the same user cannot ptrace it or read its memory
//! (`/proc/<pid>/mem`, `environ`), and its `/proc/<pid>` files belong to
//! root. It is declared against the C library the binary links (glibc), so
//! no crate is needed for it.

/// Makes the process non-dumpable; a failure (another kernel) is ignored.
pub fn non_dumpable() {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::{c_int, c_ulong};
        const PR_SET_DUMPABLE: c_int = 4;
        unsafe extern "C" {
            fn prctl(option: c_int, ...) -> c_int;
        }
        // SAFETY: PR_SET_DUMPABLE takes one integer argument and touches no
        // memory of ours.
        unsafe {
            prctl(PR_SET_DUMPABLE, 0 as c_ulong);
        }
    }
}
