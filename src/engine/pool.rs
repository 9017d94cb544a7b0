//! The engine's thread pool: rayon workers with large stacks, so a deeply nested file parses and
//! is walked without overflowing (the main thread's 8 MiB would not do).

use std::sync::{Arc, OnceLock};

/// Stack size of a worker thread: deeply nested expressions make the parser, the visitors and
/// the syntax tree's destructor recurse deeply. Only the pages a thread really touches are
/// committed, so a large reservation costs nothing in the common case.
pub const WORKER_STACK: usize = 512 * 1024 * 1024;

/// The pool every workspace of this process shares.
pub fn shared() -> Arc<rayon::ThreadPool> {
    static POOL: OnceLock<Arc<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool = rayon::ThreadPoolBuilder::new()
            .stack_size(WORKER_STACK)
            .thread_name(|i| format!("tenantlint-{i}"))
            .build()
            .or_else(|_| rayon::ThreadPoolBuilder::new().build())
            .expect("a thread pool");
        Arc::new(pool)
    })
    .clone()
}
