fn main() -> std::process::ExitCode {
    tenantlint::cli::main()
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
