//! What the CLI's end-to-end test files share: running the `zabsim` binary and what it
//! printed. A run that printed a panic fails the test at once.

use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn show(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run `zabsim args` (without `ZABSIM_SEED` from the environment).
pub fn zabsim(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .args(args)
        .env_remove("ZABSIM_SEED")
        .output()
        .expect("zabsim runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stdout.contains("panicked") && !run.stderr.contains("panicked"),
        "zabsim panicked:\n{}",
        run.show()
    );
    run
}
