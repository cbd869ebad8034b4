//! Writing run outputs so that an interrupted run never leaves a half-written file: each
//! file is written to a temporary name beside it, flushed, then renamed into place.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))
}

pub fn write_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(value).expect("outputs serialize");
    text.push(b'\n');
    write_atomic(dir, name, &text)
}
