//! Hardening suite: every tool the project ships, found through the registry
//! (`ironscope::tools::ALL`, the same list `ironscope --list` prints), is run
//! against bad input, event storms, every way of stopping, a long mixed
//! workload, hostile record bytes, and checked to be read-only. A new tool is
//! covered without editing this suite; the few per-tool tables in
//! `hardening/suite.rs` only hold what --help cannot tell (required arguments,
//! tool-specific bad names).
//!
//! Time: the long run (IRONSCOPE_LONG_RUN_SECS, 300 by default, CI's value)
//! starts early and the other tests run beside it on the second test thread,
//! so the binary takes about six minutes on two cores.

mod common;

#[path = "hardening/suite.rs"]
mod suite;

#[path = "hardening/bad_input.rs"]
mod bad_input;
#[path = "hardening/fuzz.rs"]
mod fuzz;
#[path = "hardening/long_run.rs"]
mod long_run;
#[path = "hardening/readonly.rs"]
mod readonly;
#[path = "hardening/storm.rs"]
mod storm;
#[path = "hardening/teardown.rs"]
mod teardown;
