//! Where the facts' memory goes: extracts every `.py` file under a directory and prints the heap
//! bytes each kind of fact holds, measured with a counting global allocator (not an estimate).
//!
//! ```sh
//! cargo run --release --example fact_memory -- /tmp/p1m
//! ```
//!
//! Used for the memory numbers in the README ("Memory and time at scale").

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use tenantlint::facts::FileFacts;
use tenantlint::frontend::{Language, extract_source};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        COUNT.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        COUNT.fetch_sub(1, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn kib(bytes: isize) -> isize {
    bytes >> 10
}

fn main() {
    let Some(root) = std::env::args().nth(1) else {
        eprintln!("usage: fact_memory DIR");
        std::process::exit(2);
    };
    let files: Vec<_> = ignore::Walk::new(&root)
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    let (live, count) = (LIVE.load(Relaxed), COUNT.load(Relaxed));
    let mut lines = 0;
    let mut all: Vec<FileFacts> = Vec::with_capacity(files.len());
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        lines += text.lines().count();
        all.push(extract_source(Language::Python, &text));
    }
    let encoded: usize = all
        .iter()
        .filter_map(|f| postcard::to_stdvec(f).ok())
        .map(|e| e.len())
        .sum();
    println!(
        "{} files, {lines} lines: facts {} KiB on the heap in {} allocations (+{} KiB of FileFacts), {} KiB encoded",
        all.len(),
        kib(LIVE.load(Relaxed) - live),
        COUNT.load(Relaxed) - count,
        (all.len() * std::mem::size_of::<FileFacts>()) >> 10,
        encoded >> 10,
    );
    macro_rules! fields {
        ($($f:ident),*) => { $( {
            let (before, n) = (LIVE.load(Relaxed), COUNT.load(Relaxed));
            let mut items = 0;
            for facts in all.iter_mut() {
                items += facts.$f.len();
                drop(std::mem::take(&mut facts.$f));
            }
            println!(
                "{:>16}: {:>7} KiB, {:>8} items, {:>8} allocations",
                stringify!($f),
                kib(before - LIVE.load(Relaxed)),
                items,
                n - COUNT.load(Relaxed),
            );
        } )* };
    }
    // The parts of the classes, before the classes go.
    macro_rules! class_parts {
        ($($f:ident),*) => { $( {
            let (before, n) = (LIVE.load(Relaxed), COUNT.load(Relaxed));
            let mut items = 0;
            for facts in all.iter_mut() {
                for c in facts.classes.iter_mut() {
                    items += c.$f.len();
                    drop(std::mem::take(&mut c.$f));
                }
            }
            println!(
                "{:>16}: {:>7} KiB, {:>8} items, {:>8} allocations",
                concat!("classes.", stringify!($f)),
                kib(before - LIVE.load(Relaxed)),
                items,
                n - COUNT.load(Relaxed),
            );
        } )* };
    }
    class_parts!(assigns, bases, decorators, methods);
    // Module-level assignments' values, before the bindings go.
    let before = LIVE.load(Relaxed);
    let mut assigns = 0;
    for facts in all.iter_mut() {
        let list: Vec<_> = facts
            .bindings
            .iter()
            .cloned()
            .map(|mut b| {
                if let tenantlint::facts::Binding::Assign(_) = b.binding {
                    assigns += 1;
                    b.binding = tenantlint::facts::Binding::Other;
                }
                b
            })
            .collect();
        facts.bindings = list.into_iter().collect();
    }
    println!(
        "{:>16}: {:>7} KiB, {:>8} items",
        "bindings.assign",
        kib(before - LIVE.load(Relaxed)),
        assigns
    );
    fields!(
        sites,
        call_names,
        classes,
        functions,
        imports,
        method_filters,
        settings,
        version_syntax
    );
    let before = LIVE.load(Relaxed);
    for facts in all.iter_mut() {
        facts.bindings = Default::default();
    }
    println!(
        "{:>16}: {:>7} KiB",
        "bindings",
        kib(before - LIVE.load(Relaxed))
    );
    let before = LIVE.load(Relaxed);
    for facts in all.iter_mut() {
        facts.lines = Default::default();
        facts.noqa = Default::default();
    }
    println!(
        "{:>16}: {:>7} KiB",
        "lines + noqa",
        kib(before - LIVE.load(Relaxed))
    );
    println!(
        "{:>16}: {:>7} KiB",
        "the rest",
        kib(LIVE.load(Relaxed) - live)
    );
}
