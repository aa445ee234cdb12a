//! Creates a case holding N journal entries, for benchmarking `cordon case verify`.
//!
//! `cargo run --release -p cordon-case --example fill_journal -- DIR N`

use std::path::PathBuf;

use cordon_case::{Actor, Case, InitOptions};
use cordon_core::SystemClock;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: fill_journal DIR N")?);
    let n: u64 = args
        .next()
        .ok_or("usage: fill_journal DIR N")?
        .to_string_lossy()
        .parse()?;
    let actor = Actor {
        user: "bench".into(),
        uid: 0,
        host: "bench".into(),
    };
    let opts = InitOptions {
        title: "benchmark".into(),
        handler: "bench".into(),
        suspect_root: "/".into(),
        allow_suspect_disk: true,
    };
    let mut case = Case::init(&dir, &opts, &SystemClock, &actor)?;
    let text = "observed outbound connection from pid 4242 (kworkerds) to 203.0.113.7:443".as_bytes();
    // Batches of appends per transaction: the chain is the same as with one transaction per entry.
    let mut done = 1u64;
    while done < n {
        let batch = (n - done).min(10_000);
        case.transaction(|tx| {
            for i in 0..batch {
                Case::append_in(tx, &SystemClock, &actor, "note", text, &json!({"i": done + i}))?;
            }
            Ok(())
        })?;
        done += batch;
    }
    Ok(())
}
