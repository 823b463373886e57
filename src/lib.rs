//! ironscope: bcc's tracing tools on libbpf-rs CO-RE skeletons.
//!
//! - `runtime`: what every tool shares (flags, hook selection, event loop,
//!   output, histograms, symbols, errors).
//! - `tools`: one module per tool (`src/tools/<tool>.rs`), whose kernel side
//!   is `src/bpf/<tool>.bpf.c` with its record in `src/bpf/<tool>.h`.
//! - `skel`: the skeletons build.rs generates from `src/bpf/*.bpf.c`.

pub mod runtime;
pub mod tools;

/// Generated skeletons, one module per `src/bpf/<tool>.bpf.c`.
pub mod skel {
    include!(concat!(env!("OUT_DIR"), "/skels.rs"));
}
