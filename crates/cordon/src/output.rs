//! Where the binary talks to the responder on stderr. Messages can quote evidence (a hostile file
//! name in an error), so they are escaped for the terminal here, at the edge.

use std::io::Write as _;

use cordon_core::escape_terminal_str;

/// Prints an error on stderr.
pub fn error(msg: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "cordon: error: {}",
        escape_terminal_str(msg)
    );
}

/// Prints a warning on stderr.
pub fn warn(msg: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "cordon: warning: {}",
        escape_terminal_str(msg)
    );
}

/// Prints an informational line on stderr (stdout stays clean for `--json`).
pub fn info(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "cordon: {}", escape_terminal_str(msg));
}

/// Human-readable byte count.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS.get(unit).copied().unwrap_or("B"))
    }
}
