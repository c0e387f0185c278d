//! What the integration tests share: the AWS emulator process and a
//! workspace with the example config.
#![allow(dead_code)]

pub mod contract;
pub mod emulator;
pub mod sfn;
pub mod workspace;

/// Displayed width of a line of terminal text: characters, ANSI colour
/// codes excluded.
pub fn columns(line: &str) -> usize {
    let mut n = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}
