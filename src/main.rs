//! The `lunora` binary: parse the command line, run, exit with the code the
//! run decided. Everything else is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    lunora::app::main()
}
