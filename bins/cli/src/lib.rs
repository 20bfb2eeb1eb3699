//! The `natronfx` command line: parses arguments, loads configuration, calls the service, prints.
//!
//! Exit codes (also in `natronfx --help` and the README): 0 ok, 1 internal error, 2 usage error,
//! 3 not found, 4 permission denied or wrong credentials, 5 conflict (the state does not allow it, or
//! someone changed it first), 6 invalid input.

mod accounts;
mod args;
mod data;
mod dedupe;
mod media;
mod output;
mod publish;
mod run;
mod sim;
mod vault;

use std::process::ExitCode;

use clap::Parser;
use natronfx_service::ErrorKind;

pub use args::Cli;

/// Exit status for success.
pub const EXIT_OK: u8 = 0;
/// Exit status for an internal failure (database unreachable, ...).
pub const EXIT_INTERNAL: u8 = 1;
/// Exit status for a usage error (clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit status when something named does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit status when the acting user may not do it, or credentials are wrong.
pub const EXIT_PERMISSION_DENIED: u8 = 4;
/// Exit status when the current state does not allow it.
pub const EXIT_CONFLICT: u8 = 5;
/// Exit status for invalid input.
pub const EXIT_INVALID_INPUT: u8 = 6;

/// The one place errors become exit codes.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput => EXIT_INVALID_INPUT,
        ErrorKind::NotFound => EXIT_NOT_FOUND,
        ErrorKind::PermissionDenied | ErrorKind::Unauthenticated | ErrorKind::RateLimited => {
            EXIT_PERMISSION_DENIED
        }
        ErrorKind::Conflict => EXIT_CONFLICT,
        ErrorKind::Internal => EXIT_INTERNAL,
    }
}

/// Runs the command line with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[internal-error]: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let json = cli.json;
    match runtime.block_on(run::run(cli)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            output::print_error(&e, json);
            ExitCode::from(exit_code(e.kind()))
        }
    }
}
