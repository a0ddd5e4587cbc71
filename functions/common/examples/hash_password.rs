//! Prints the argon2 hash of a host password for `HOST_PASSWORD_HASH`, so the plain password
//! need not be stored in the secret:
//!
//! ```text
//! printf %s 'the host password' | cargo run -q -p onair-common --example hash_password
//! ```
//!
//! The password is read from standard input (one line; the line break is not part of it).

use std::io::Read;

fn main() -> std::process::ExitCode {
    let mut input = String::new();
    if std::io::stdin().read_to_string(&mut input).is_err() {
        eprintln!("hash_password: standard input is not UTF-8 text");
        return std::process::ExitCode::FAILURE;
    }
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        eprintln!("hash_password: give the password on standard input");
        return std::process::ExitCode::FAILURE;
    }
    let salt = onair_common::random::bytes::<16>();
    match onair_common::password::hash(password, &salt) {
        Ok(phc) => {
            println!("{phc}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("hash_password: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
