//! The `txlab` binary: everything lives in the library; this is the single exit point.

fn main() -> std::process::ExitCode {
    txlab::cli::main()
}
