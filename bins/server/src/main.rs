//! `natronfx-server`: parses flags, loads configuration, serves until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = natronfx_server::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(natronfx_server::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
