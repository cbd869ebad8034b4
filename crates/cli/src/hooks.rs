//! Panic hooks. A print to a closed pipe (`zabsim merge … | head`) ends the process quietly
//! with 141 (128 + SIGPIPE, what a shell shows for a process a closed pipe killed) instead
//! of a panic message; any other panic keeps Rust's report. While seeds run under
//! `catch_unwind` (fuzz, bench, shrink) the hook is silent: a panicking seed is reported as
//! a finding by the caller, not printed by the hook.

use std::panic::{self, PanicHookInfo};

/// The exit code of a process whose stdout was closed under it.
const EXIT_BROKEN_PIPE: i32 = 141;

/// Install the process's hook: broken pipes end quietly, everything else as by default.
pub fn install() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        exit_on_broken_pipe(info);
        default(info);
    }));
}

/// Run `f` with a silent hook (broken pipes still end the process), then put the previous
/// hook back.
pub fn with_quiet_panics<T>(f: impl FnOnce() -> T) -> T {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(exit_on_broken_pipe));
    let result = f();
    panic::set_hook(previous);
    result
}

fn exit_on_broken_pipe(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
        std::process::exit(EXIT_BROKEN_PIPE);
    }
}
