fn main() -> std::process::ExitCode {
    countersign_server::cli::main()
}
