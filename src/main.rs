fn main() -> std::process::ExitCode {
    tenantlint::cli::main()
}
