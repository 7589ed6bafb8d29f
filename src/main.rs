//! The `flint` binary: see `flint --help`.

/// mimalloc instead of glibc malloc: allocation was a fifth of the user-space
/// instructions of a cached request (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    flint::cli::main()
}
