//! Where rows and JSON lines go: line-buffered on a terminal, block-buffered
//! otherwise but flushed after every poll (so `tool > file` shows lines
//! within ~10 ms), and the time columns bcc's -T/-t add.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, LineWriter, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

use anyhow::{Context, Result};

enum Sink {
    Line(LineWriter<File>),
    Block(BufWriter<File>),
}

pub struct Output {
    sink: Sink,
    pub json: bool,
}

impl Output {
    pub fn stdout(json: bool) -> Result<Output> {
        let stdout = io::stdout();
        let tty = stdout.is_terminal();
        let fd = stdout
            .as_fd()
            .try_clone_to_owned()
            .context("cannot use standard output")?;
        let file = File::from(fd);
        let sink = if tty {
            Sink::Line(LineWriter::new(file))
        } else {
            Sink::Block(BufWriter::with_capacity(64 * 1024, file))
        };
        Ok(Output { sink, json })
    }

    fn w(&mut self) -> &mut dyn Write {
        match &mut self.sink {
            Sink::Line(w) => w,
            Sink::Block(w) => w,
        }
    }

    /// One table row (or header); the newline is added.
    pub fn line(&mut self, s: &str) -> Result<()> {
        let w = self.w();
        w.write_all(s.as_bytes())?;
        w.write_all(b"\n")?;
        Ok(())
    }

    /// One JSON object as one line.
    pub fn json_line(&mut self, v: &serde_json::Value) -> Result<()> {
        let w = self.w();
        write_json(&mut *w, v)?;
        w.write_all(b"\n")?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        self.w().flush()?;
        Ok(())
    }

    /// A closed pipe as an error before any write fails: `tool | head -1`
    /// ends as soon as head does, even when no event comes.
    pub fn check_reader(&self) -> Result<()> {
        let fd = match &self.sink {
            Sink::Line(w) => w.get_ref().as_raw_fd(),
            Sink::Block(w) => w.get_ref().as_raw_fd(),
        };
        let mut pfd = libc::pollfd {
            fd,
            events: 0,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        if n > 0 && pfd.revents & libc::POLLERR != 0 {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe).into());
        }
        Ok(())
    }
}

/// serde_json's compact output, except that DEL and the C1 controls
/// (U+007F..U+009F, U+009B being CSI) are written as `\u` escapes as well:
/// the same JSON once parsed, and a terminal showing the line never sees
/// them raw (serde_json already escapes everything below U+0020).
struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if ('\u{7f}'..='\u{9f}').contains(&c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

fn write_json<W: Write>(w: W, v: &serde_json::Value) -> io::Result<()> {
    use serde::Serialize;
    let mut ser = serde_json::Serializer::with_formatter(w, TerminalSafe);
    v.serialize(&mut ser).map_err(io::Error::from)
}

/// A JSON line exactly as `Output::json_line` writes it (without the newline).
pub fn json_string(v: &serde_json::Value) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail, and the output is UTF-8.
    let _ = write_json(&mut buf, v);
    String::from_utf8_lossy(&buf).into_owned()
}

/// bcc's time columns: -T wall clock (HH:MM:SS), -t seconds since start.
pub struct Clock {
    start: Instant,
    offset: time::UtcOffset,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// Reads the local UTC offset: call before any thread is started.
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
            offset: time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC),
        }
    }

    /// Wall-clock time of day, "HH:MM:SS".
    pub fn hms(&self) -> String {
        let now = time::OffsetDateTime::now_utc().to_offset(self.offset);
        format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
    }

    /// Seconds since the tool started.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_escapes_terminal_controls() {
        let v = serde_json::json!({ "s": "a\u{1b}[1m\u{9b}2J\u{7f}é\"" });
        let line = super::json_string(&v);
        assert_eq!(line, r#"{"s":"a\u001b[1m\u009b2J\u007fé\""}"#);
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, v);
    }
}
