//! The loop of summary tools (biolatency, bitesize, runqlat, ...): every
//! interval, or once at exit, read and clear their maps and print each
//! histogram as bcc does (a blank line, the time with -T, then each
//! histogram) or as one JSON object per histogram.

use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};

use crate::runtime::cli;
use crate::runtime::Ctx;

/// bcc's `[-T] [interval] [count]`, flattened into a tool's Args.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Every {
    /// Include a timestamp (HH:MM:SS) on each output
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// Output interval, in seconds (default: once, at exit)
    #[arg(value_name = "INTERVAL", value_parser = cli::parse_interval)]
    pub interval: Option<Duration>,
    /// Number of outputs
    #[arg(value_name = "COUNT", value_parser = cli::parse_count)]
    pub count: Option<u64>,
}

/// One histogram (or any block of output) as text lines and as JSON.
pub struct Section {
    pub text: Vec<String>,
    pub json: Value,
}

/// Print `banner` (not with --json), then every `every.interval` (or once
/// at exit) the sections `collect` returns, until a signal, `--duration`
/// or the count.
pub fn run(
    ctx: &Ctx,
    every: &Every,
    banner: &str,
    mut collect: impl FnMut() -> Result<Vec<Section>>,
) -> Result<()> {
    if !ctx.common.json {
        ctx.out().line(banner)?;
        ctx.out().flush()?;
    }
    ctx.run_interval(every.interval, every.count, |ctx| {
        let sections = collect()?;
        let time = every.timestamp.then(|| ctx.clock.hms());
        let mut out = ctx.out();
        if ctx.common.json {
            for mut s in sections {
                if let Some(t) = &time {
                    s.json["time"] = json!(t);
                }
                out.json_line(&s.json)?;
            }
            return Ok(());
        }
        out.line("")?;
        if let Some(t) = &time {
            out.line(t)?;
        }
        for s in &sections {
            for l in &s.text {
                out.line(l)?;
            }
        }
        Ok(())
    })
}
