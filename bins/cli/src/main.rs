//! `natronfx`: the command line. Everything it does lives in the `natronfx_cli` library.

fn main() -> std::process::ExitCode {
    natronfx_cli::main()
}
