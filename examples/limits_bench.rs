//! Times the pre-parse nesting-limit scan over every `.py` file below a directory:
//! `cargo run --release --example limits_bench -- DIR`.
use std::time::Instant;

fn main() {
    let dir = std::env::args().nth(1).expect("a directory");
    let mut sources = Vec::new();
    for entry in ignore::WalkBuilder::new(dir).build().flatten() {
        if entry.path().extension().is_some_and(|e| e == "py")
            && let Ok(text) = std::fs::read_to_string(entry.path())
        {
            sources.push(text);
        }
    }
    let bytes: usize = sources.iter().map(String::len).sum();
    let start = Instant::now();
    let mut errors = 0;
    for s in &sources {
        errors += usize::from(tenantlint::python_limits::check_limits(s).is_some());
    }
    let took = start.elapsed();
    println!(
        "{} files, {:.1} MB, {errors} over a limit: {:.3} s ({:.0} MB/s)",
        sources.len(),
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64()
    );
}
