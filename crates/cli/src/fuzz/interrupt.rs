//! SIGINT and SIGTERM during a sweep: the first stops the sweep from starting new seeds (the
//! seeds running finish and write their lines; the summary so far is printed and the exit
//! code is 130 or 143, 128 + the signal, as a shell shows for a process the signal killed);
//! a second one ends the process at once with that code. Each results line is written with
//! one `write_all` under a lock, so even then the file holds whole lines, and `--resume`
//! drops a partial one.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Set by the first SIGINT or SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);
/// The exit code of the last signal received (0: none).
static CODE: AtomicUsize = AtomicUsize::new(0);

/// Catch SIGINT and SIGTERM for the rest of the process.
pub fn watch() -> Result<(), String> {
    for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        // The shutdown goes first: it ends the process only when an earlier signal set STOP.
        flag::register_conditional_shutdown(signal, code, &STOP)
            .and_then(|_| flag::register_usize(signal, &CODE, code as usize))
            .and_then(|_| flag::register(signal, &STOP))
            .map_err(|e| format!("cannot catch signal {signal}: {e}"))?;
    }
    Ok(())
}

/// Whether a signal asked the sweep to stop.
pub fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The exit code and name of the signal that stopped the sweep, if one did.
pub fn stopped_by() -> Option<(u8, &'static str)> {
    match CODE.load(Ordering::SeqCst) {
        130 => Some((130, "SIGINT")),
        143 => Some((143, "SIGTERM")),
        _ => None,
    }
}
