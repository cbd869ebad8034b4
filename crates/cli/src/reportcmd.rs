//! `zabsim report RUN_DIR | RESULTS.jsonl [--out OUT]`: chart a run directory written by
//! `zabsim run --out` (into it, by default), or a whole sweep from a results file written by
//! `zabsim fuzz --results` or `zabsim merge --out` (into `<stem>-report/` beside it, by
//! default); the `report` crate does the work. Exit 0 when every file was written, 2 when
//! an input is missing or malformed (the message names the file and line) or an output
//! cannot be written.

use std::path::{Path, PathBuf};

/// Where a sweep's report goes without `--out`: `r.jsonl` → `r-report/` beside it.
fn sweep_out_dir(results: &Path) -> PathBuf {
    let stem = results.file_stem().map_or_else(
        || "results".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    results.with_file_name(format!("{stem}-report"))
}

pub fn run(input: &str, out: Option<&str>) -> u8 {
    let path = Path::new(input);
    let (written, out_dir) = if path.is_dir() {
        let out_dir = PathBuf::from(out.unwrap_or(input));
        (report::render(path, &out_dir), out_dir)
    } else if path.is_file() {
        let out_dir = out.map_or_else(|| sweep_out_dir(path), PathBuf::from);
        (report::render_sweep(path, &out_dir), out_dir)
    } else {
        eprintln!(
            "error: {input}: neither a run directory (written by `zabsim run --out DIR`) nor a \
             results file (written by `zabsim fuzz --results FILE.jsonl`)"
        );
        return 2;
    };
    match written {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_report_goes_beside_its_results_file() {
        assert_eq!(
            sweep_out_dir(Path::new("/tmp/s/r.jsonl")),
            Path::new("/tmp/s/r-report")
        );
        assert_eq!(
            sweep_out_dir(Path::new("all.jsonl")),
            Path::new("all-report")
        );
    }
}
