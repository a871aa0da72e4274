//! `deriq`: the DER IQ command line.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
