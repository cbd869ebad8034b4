//! `zabsim zk-script FILE`: runs a script of client operations on a fault-free 3-server
//! ensemble and prints one JSON line per operation (see `sim::zkscript`). Exit 0 when the
//! script ran, 2 when it cannot be read or is malformed (with the line number), 1 when the
//! simulated run itself failed (a bug in zabsim).

use sim::zkscript;

pub fn run(file: &str, seed: u64) -> u8 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {file}: cannot read: {e}");
            return 2;
        }
    };
    let lines = match zkscript::parse(&text) {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("error: {file}:{}: {}", e.line, e.message);
            return 2;
        }
    };
    match zkscript::run(lines, seed) {
        Ok(outputs) => {
            for o in &outputs {
                println!("{}", zkscript::line_text(o));
            }
            0
        }
        Err(e) => {
            eprintln!("error: {file}: {e}");
            1
        }
    }
}
