//! Flags every tool offers, flattened into each tool's clap Args, and the
//! parser that turns clap's errors into our one-line usage errors.
//!
//! Common flags are long-only here; each tool maps bcc's short letters onto
//! them (`-p` is --pid in most tools, `-d` is --duration in opensnoop but a
//! disk in biosnoop), so bcc's per-tool meanings are kept.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, ValueEnum};

use crate::runtime::error::usage;
use crate::runtime::users;
use crate::tools::Invocation;

/// Which kind of hook to use where a tool has several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AttachMode {
    /// fentry, else kprobe, else tracepoint: the first this kernel runs
    #[default]
    Auto,
    Fentry,
    Kprobe,
    /// tracepoints, including BTF-typed (tp_btf) and raw ones
    Tracepoint,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Common {
    /// Trace this process (thread group) only
    #[arg(long, value_name = "PID", value_parser = parse_pid, help_heading = "Common options")]
    pub pid: Option<u32>,
    /// Trace this thread only
    #[arg(long, value_name = "TID", value_parser = parse_pid, help_heading = "Common options")]
    pub tid: Option<u32>,
    /// Trace this user only (number or name)
    #[arg(long, value_name = "UID", value_parser = parse_uid, help_heading = "Common options")]
    pub uid: Option<u32>,
    /// Trace tasks with this command name (exact, at most 15 bytes)
    #[arg(long, value_name = "COMM", value_parser = parse_comm, help_heading = "Common options")]
    pub comm: Option<String>,
    /// Trace tasks in this cgroup v2 directory (and below) only
    #[arg(long, value_name = "PATH", help_heading = "Common options")]
    pub cgroup: Option<PathBuf>,
    /// Stop after this long (seconds, or with s/m/h)
    #[arg(long, value_name = "SECS", value_parser = parse_duration, help_heading = "Common options")]
    pub duration: Option<Duration>,
    /// One JSON object per line
    #[arg(long, help_heading = "Common options")]
    pub json: bool,
    /// Say which hooks were chosen; show libbpf's log
    #[arg(long, help_heading = "Common options")]
    pub verbose: bool,
    /// Hook kind to use where the tool has several
    #[arg(long, value_enum, default_value_t = AttachMode::Auto, value_name = "KIND", help_heading = "Common options")]
    pub attach: AttachMode,
}

/// Parse a tool's Args. `shorts` gives bcc's short letters to common flags,
/// e.g. `&[("pid", 'p'), ("duration", 'd')]`. `--help` and `--version` print
/// and exit 0; anything wrong is a one-line `Usage` error.
pub fn parse<A: CommandFactory + FromArgMatches>(
    inv: &Invocation,
    shorts: &[(&str, char)],
) -> anyhow::Result<A> {
    let matches = matches::<A>(inv, shorts)?;
    A::from_arg_matches(&matches).map_err(|e| clap_usage(&e))
}

fn matches<A: CommandFactory>(
    inv: &Invocation,
    shorts: &[(&str, char)],
) -> anyhow::Result<ArgMatches> {
    let cmd = A::command();
    // A negative number as a value reads better in errors ("-5 is not a valid
    // process id"), but it would swallow digit flags such as bcc's -4/-6 as
    // positional values.
    let digit_flags = cmd
        .get_arguments()
        .any(|a| a.get_short().is_some_and(|c| c.is_ascii_digit()));
    let mut cmd = cmd
        .name(inv.called_as.clone())
        .bin_name(inv.called_as.clone())
        .allow_negative_numbers(!digit_flags);
    for (id, c) in shorts {
        cmd = cmd.mut_arg(*id, |a| a.short(*c));
    }
    if digit_flags {
        // An option's value cannot be a flag, so it may still be negative:
        // `--pid -1` is then a bad pid, not an unexpected argument.
        let options: Vec<clap::Id> = cmd
            .get_arguments()
            .filter(|a| !a.is_positional() && a.get_action().takes_values())
            .map(|a| a.get_id().clone())
            .collect();
        for id in options {
            cmd = cmd.mut_arg(id, |a| a.allow_negative_numbers(true));
        }
    }
    check_unique_ids(&cmd)?;
    match cmd.try_get_matches_from(&inv.args) {
        Ok(m) => Ok(m),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                std::process::exit(0)
            }
            _ => Err(clap_usage(&e)),
        },
    }
}

/// clap checks this in debug builds only: an argument sharing a common
/// flag's id (a positional `duration` next to --duration) gets the other's
/// values and error messages. A programming error, so not a usage error.
fn check_unique_ids(cmd: &clap::Command) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for a in cmd.get_arguments() {
        if !seen.insert(a.get_id().as_str()) {
            anyhow::bail!("internal error: two arguments have the id '{}'", a.get_id());
        }
    }
    Ok(())
}

/// clap's first line, without its "error: " and the help hint.
fn clap_usage(e: &clap::Error) -> anyhow::Error {
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("bad arguments");
    let mut first = first.trim_start_matches("error: ").trim().to_string();
    // "the following required arguments were not provided:" lists them on
    // the lines after it.
    if first.ends_with(':') {
        let more: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains(first.as_str()))
            .skip(1)
            .map(str::trim)
            .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
            .collect();
        first = format!("{first} {}", more.join(" "));
    }
    usage(format!("{first} (try --help)"))
}

pub fn parse_pid(s: &str) -> Result<u32, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a process id"))?;
    if n <= 0 || n > i64::from(i32::MAX) {
        return Err(format!("{n} is not a valid process id"));
    }
    if !std::path::Path::new(&format!("/proc/{n}")).exists() {
        return Err(format!("no process with id {n}"));
    }
    Ok(n as u32)
}

pub fn parse_uid(s: &str) -> Result<u32, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        if !(0..i64::from(u32::MAX)).contains(&n) {
            return Err(format!("{n} is not a valid user id"));
        }
        return Ok(n as u32);
    }
    users::uid_of(s).ok_or_else(|| format!("no user named '{s}' (and not a number)"))
}

pub fn parse_comm(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 15 {
        return Err("a command name is 1 to 15 bytes (the kernel keeps 15)".into());
    }
    Ok(s.to_string())
}

/// Seconds as a positive number, optionally with an s, m or h suffix.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (seconds, or with s/m/h)"))?;
    let secs = v * mult;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("'{s}' must be a positive number of seconds"));
    }
    if secs > 366.0 * 86400.0 {
        return Err(format!("'{s}' is longer than a year"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A positive whole number of seconds for bcc's positional interval.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(10) {
        return Err(format!("interval '{s}' is too short (at least 0.01 s)"));
    }
    Ok(d)
}

/// A positive count for bcc's positional count.
pub fn parse_count(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a positive count")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("nan").is_err());
        assert!(parse_duration("1e30").is_err());
    }

    #[test]
    fn pids_and_uids() {
        assert_eq!(parse_pid("1").unwrap(), 1);
        assert!(parse_pid("0").is_err());
        assert!(parse_pid("-5").is_err());
        assert!(parse_pid("abc").is_err());
        assert!(parse_pid("99999999999").is_err());
        assert!(parse_pid("2147483647").is_err());
        assert_eq!(parse_uid("1000").unwrap(), 1000);
        assert_eq!(parse_uid("root").unwrap(), 0);
        assert!(parse_uid("-1").is_err());
        assert!(parse_uid("no-such-user-here").is_err());
        assert!(parse_comm("0123456789abcdef").is_err());
        assert!(parse_comm("bash").is_ok());
    }
}
