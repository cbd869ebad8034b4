//! The README's tour runs as written: every line of its `sh` block, in order, from the root
//! of a copy of the repository (nothing beside it), with the freshly built `zabsim` first on
//! `PATH` — as a reader who followed the set-up commands would run them. Each line exits 0,
//! or the code its trailing `# exit N` announces; none panics; nothing outside `reports/`
//! is created or changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files in a repository copy, at most (a bound on the walk).
const FILES_MAX: usize = 20_000;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The tour's lines: the first `sh` block after the `## A tour` heading.
fn tour_lines(readme: &str) -> Vec<String> {
    let after = readme
        .split_once("\n## A tour")
        .expect("README has a `## A tour` section")
        .1;
    let block = after
        .split_once("```sh\n")
        .expect("the tour has an sh block")
        .1;
    let block = block.split_once("```").expect("the sh block ends").0;
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The exit code a line announces with a trailing `# exit N` (0 when it announces none).
fn expected_code(line: &str) -> i32 {
    match line.rsplit_once("# exit ") {
        Some((_, code)) => code.trim().parse().expect("`# exit N` with a number"),
        None => 0,
    }
}

/// Every file under `dir` (relative path → bytes), skipping build output and git's files;
/// `reports/` is left out when `with_reports` is false.
fn snapshot(dir: &Path, with_reports: bool) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read a directory") {
            let path = entry.expect("a directory entry").path();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            let name = rel.file_name().unwrap().to_string_lossy().into_owned();
            if name == "target" || name == ".git" || (!with_reports && rel == Path::new("reports"))
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(rel, std::fs::read(&path).expect("read a file"));
            }
            assert!(files.len() <= FILES_MAX, "more than {FILES_MAX} files");
        }
    }
    files
}

/// A copy of the repository in an otherwise empty temporary directory.
fn copy_repo() -> (PathBuf, PathBuf) {
    let outer = std::env::temp_dir().join(format!("zabsim-tour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&outer);
    let copy = outer.join("zabsim");
    for (rel, bytes) in snapshot(&repo_root(), false) {
        let to = copy.join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, bytes).unwrap();
    }
    std::fs::create_dir_all(copy.join("reports")).unwrap();
    (outer, copy)
}

fn run_line(copy: &Path, line: &str) -> (i32, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_zabsim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(copy)
        .env("PATH", path)
        .env_remove("ZABSIM_SEED")
        .output()
        .expect("sh runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_tour_line_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let lines = tour_lines(&readme);
    assert!(lines.len() >= 15, "the tour is there: {lines:?}");
    let (outer, copy) = copy_repo();
    let before = snapshot(&copy, false);
    for line in &lines {
        assert!(
            !line.contains('<') && !line.contains('>'),
            "a placeholder or redirection a reader must edit: {line}"
        );
        let (code, output) = run_line(&copy, line);
        assert_eq!(code, expected_code(line), "{line}\n{output}");
        assert!(!output.contains("panicked"), "{line}\n{output}");
    }
    let after = snapshot(&copy, false);
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        changed.is_empty(),
        "the tour wrote outside reports/: {changed:?}"
    );
    assert!(copy.join("reports/seed42/index.html").is_file());
    let _ = std::fs::remove_dir_all(&outer);
}

#[test]
fn the_tour_extractor_reads_lines_and_exit_codes() {
    let readme = "x\n## A tour\n\ntext\n```sh\nzabsim run   # a comment\n\n# only a comment\nzabsim fuzz --bug b   # finds it  # exit 1\n```\n```sh\nnot this\n```\n";
    let lines = tour_lines(readme);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(expected_code(&lines[0]), 0);
    assert_eq!(expected_code(&lines[1]), 1);
}
