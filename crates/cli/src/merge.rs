//! `zabsim merge FILE... [--out FILE]`: the merge step of a sharded sweep. Reads the JSON
//! Lines that `fuzz --results` wrote (one file per shard or per machine, in whatever order
//! the seeds finished) and combines them with `explore::merge` (regression seeds first, then
//! by seed; copies that disagree are a `nondeterminism` finding, exit 1); writes the merged
//! file atomically, then prints the summary, findings and REPRO lines as `fuzz` prints them,
//! with its exit codes. A malformed line is exit 2 with file and line.

use crate::fuzz::summarize;
use explore::merge::{merge, read};
use std::path::Path;

pub fn run(files: &[String], out: Option<&str>) -> u8 {
    assert!(!files.is_empty(), "clap requires a file");
    let mut all = Vec::new();
    for f in files {
        match read(f) {
            Ok(lines) => all.extend(lines),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let read_count = all.len();
    let merged = merge(all);
    println!(
        "merge: {read_count} lines from {} files, {} seeds",
        files.len(),
        merged.len()
    );
    if let Some(path) = out {
        let p = Path::new(path);
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let text = explore::results::render(&merged);
        let written = name
            .ok_or_else(|| std::io::Error::other("no file name"))
            .and_then(|n| crate::output::write_atomic(dir.unwrap_or(Path::new(".")), &n, &text));
        if let Err(e) = written {
            eprintln!("error: cannot write {path}: {e}");
            return 2;
        }
    }
    summarize(&merged)
}
