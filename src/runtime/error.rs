//! The error kinds that decide a tool's exit: usage (2), a closed output
//! (quiet 0), anything else (1). Every error prints as one line.

use std::fmt;
use std::io;

/// Bad flags or values: exit 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

/// True when the error (or its cause) is a write to a closed pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Print the error as one line and return the exit code.
pub fn report(tool: &str, e: &anyhow::Error) -> i32 {
    if is_broken_pipe(e) {
        return 0;
    }
    let line = format!("{e:#}").replace('\n', " ");
    eprintln!("{tool}: {line}");
    if e.downcast_ref::<Usage>().is_some() {
        2
    } else {
        1
    }
}
