//! Times `load_str` on an intent file, in process: the share of `shiplane check` and `plan` that
//! is the intent crate's. For profiles (`valgrind --tool=callgrind`) run it with one iteration.
//!
//! `cargo run --release -p shiplane-intent --example load_timing -- FILE [RUNS]`

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: load_timing FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut times = Vec::with_capacity(runs);
    let mut diagnostics = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let loaded = shiplane_intent::load_str(&text);
        times.push(start.elapsed());
        diagnostics = loaded.diagnostics.len();
    }
    times.sort();
    println!(
        "{path}: {} bytes, {diagnostics} diagnostics; load_str over {runs} runs: min {:.2} ms, median {:.2} ms",
        text.len(),
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3,
    );
}
