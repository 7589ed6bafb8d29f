//! The `flint` binary: see `flint --help`.

fn main() -> std::process::ExitCode {
    flint::cli::main()
}
