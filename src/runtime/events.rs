//! The event loops: a ring buffer polled every few milliseconds, or a timer
//! for interval tools, both ending on SIGINT/SIGTERM/SIGHUP, `--duration` or
//! a closed output; lost events are reported on stderr as they happen and
//! in total at exit.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use libbpf_rs::{MapCore, MapFlags, Object, RingBufferBuilder};

use crate::runtime::ctx::{find_map, Ctx, POLL};
use crate::runtime::error::is_broken_pipe;

/// How often lost events are reported while running.
const LOST_REPORT: Duration = Duration::from_secs(1);

impl Ctx {
    /// Poll the object's `events` ring buffer until a signal, `--duration`
    /// or a closed output; each record goes to `on_event`.
    pub fn run_ring(
        &self,
        obj: &Object,
        mut on_event: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let events = find_map(obj, "events")?;
        let failed: RefCell<Option<anyhow::Error>> = RefCell::new(None);
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&events, |data: &[u8]| match on_event(data) {
                Ok(()) => 0,
                Err(e) => {
                    *failed.borrow_mut() = Some(e);
                    -1
                }
            })
            .context("cannot set up the ring buffer")?;
        let ring = builder.build().context("cannot set up the ring buffer")?;
        let mut next_report = Instant::now() + LOST_REPORT;
        let result = loop {
            if self.stop_requested() {
                break Ok(());
            }
            let polled = ring.poll(POLL).and_then(|()| ring.consume());
            if let Some(e) = failed.borrow_mut().take() {
                break Err(e);
            }
            if let Err(e) = polled {
                if e.kind() != libbpf_rs::ErrorKind::Interrupted {
                    break Err(anyhow!(e).context("reading the ring buffer"));
                }
            }
            self.out().flush()?;
            if let Err(e) = self.out().check_reader() {
                break Err(e);
            }
            if Instant::now() >= next_report {
                self.report_lost(obj, false);
                next_report = Instant::now() + LOST_REPORT;
            }
        };
        // Drain what is already in the ring, unless output failed.
        if result.is_ok() {
            let _ = ring.consume();
            if let Some(e) = failed.borrow_mut().take() {
                return Err(e);
            }
        }
        // A closed pipe ends the tool quietly.
        if result.as_ref().is_err_and(is_broken_pipe) {
            return result;
        }
        self.out().flush()?;
        self.report_lost(obj, true);
        result
    }

    /// Call `tick` every `interval` (or once at the end when None), at most
    /// `count` times, until a signal or `--duration`.
    pub fn run_interval(
        &self,
        interval: Option<Duration>,
        count: Option<u64>,
        mut tick: impl FnMut(&Ctx) -> Result<()>,
    ) -> Result<()> {
        let mut done = 0u64;
        loop {
            let wake = interval.map(|i| Instant::now() + i);
            loop {
                if self.stop_requested() {
                    break;
                }
                if wake.is_some_and(|w| Instant::now() >= w) {
                    break;
                }
                self.out().check_reader()?;
                std::thread::sleep(POLL);
            }
            let stopping = self.stop_requested();
            if interval.is_some() || stopping {
                tick(self)?;
                self.out().flush()?;
                done += 1;
            }
            if stopping || count.is_some_and(|c| done >= c) {
                return Ok(());
            }
        }
    }

    /// Events the BPF side could not hand over, summed over CPUs.
    pub fn lost_events(&self, obj: &Object) -> u64 {
        let Ok(drops) = find_map(obj, "drops") else {
            return 0;
        };
        match drops.lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY) {
            Ok(Some(per_cpu)) => per_cpu
                .iter()
                .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
                .map(u64::from_ne_bytes)
                .sum(),
            _ => 0,
        }
    }

    /// Print newly lost events on stderr; at exit, the total.
    pub fn report_lost(&self, obj: &Object, at_exit: bool) {
        let total = self.lost_events(obj);
        let before = self.lost_reported.replace(total);
        if total > before {
            eprintln!(
                "{}: lost {} events (ring buffer full)",
                self.tool,
                total - before
            );
        }
        if at_exit && total > 0 {
            eprintln!("{}: lost {} events in all", self.tool, total);
        }
    }
}
