//! Black-box tests of the whole flint app over HTTP (one test binary).

mod helpers;

mod accounts;
mod cli;
mod errors;
mod platform;
