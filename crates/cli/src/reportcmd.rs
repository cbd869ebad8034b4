//! `zabsim report DIR [--out OUT]`: chart a run directory written by `zabsim run --out`
//! (the `report` crate does the work); exit 0 when every file was written, 2 when an input
//! is missing or malformed (the message names the file and line) or an output cannot be
//! written.

use std::path::Path;

pub fn run(dir: &str, out: Option<&str>) -> u8 {
    let run_dir = Path::new(dir);
    if !run_dir.is_dir() {
        eprintln!(
            "error: {dir}: not a directory (expected a run directory written by `zabsim run --out DIR`)"
        );
        return 2;
    }
    let out_dir = Path::new(out.unwrap_or(dir));
    match report::render(run_dir, out_dir) {
        Ok(written) => {
            println!(
                "report: {} files, {} bytes in {}",
                written.files.len(),
                written.bytes,
                out_dir.display()
            );
            println!("index: {}", out_dir.join(report::INDEX).display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
