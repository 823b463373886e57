//! cachestat on this kernel (tracepoints only): a file read cold, then warm,
//! from this test's thread, gives exact misses then exact hits; a write of
//! new pages gives exact dirtied buffers.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use common::loopfs::ScratchDir;
use serde_json::Value;

const PAGES: u64 = 64;

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

fn scratch(tag: &str) -> (ScratchDir, PathBuf) {
    let dir = ScratchDir::new("cachestat");
    let path = dir.path(tag);
    (dir, path)
}

/// A file of PAGES pages on disk and out of the page cache.
fn cold_file(path: &Path) {
    let mut f = File::create(path).expect("create");
    f.write_all(&vec![7u8; (PAGES * page_size()) as usize])
        .expect("write");
    f.sync_all().expect("fsync");
    evict(&f);
}

fn evict(f: &File) {
    // SAFETY: fadvise on an open fd; DONTNEED drops its clean cached pages.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise");
}

/// The whole file in one read(2).
fn read_all(path: &Path) {
    let mut f = File::open(path).expect("open");
    let mut buf = vec![0u8; (PAGES * page_size()) as usize];
    f.read_exact(&mut buf).expect("read");
}

/// Run cachestat (long interval: one line at Ctrl-C) around `work`.
fn measure(extra: &[&str], work: impl FnOnce()) -> common::Finished {
    let me = common::gettid().to_string();
    let mut args = vec!["--tid", me.as_str()];
    args.extend_from_slice(extra);
    args.push("60");
    let t = common::start("cachestat", &args);
    work();
    let done = t.stop();
    assert!(done.status.success(), "{}", done.stderr);
    done
}

fn only_line(done: &common::Finished) -> Value {
    let v = done.json();
    assert_eq!(v.len(), 1, "one interval, one line: {:#?}", done.stdout);
    v[0].clone()
}

#[test]
fn cold_then_warm_read() {
    let (_dir, path) = scratch("read");
    cold_file(&path);

    let cold = only_line(&measure(&["--json"], || read_all(&path)));
    assert_eq!(
        cold["misses"], PAGES,
        "cold: every page read is a miss: {cold}"
    );
    assert_eq!(cold["hits"], 0, "{cold}");
    assert_eq!(cold["pages_added"], PAGES, "{cold}");
    assert_eq!(cold["hitratio"], 0.0);

    let warm = only_line(&measure(&["--json"], || read_all(&path)));
    assert_eq!(
        warm["hits"], PAGES,
        "warm: every page read is a hit: {warm}"
    );
    assert_eq!(warm["misses"], 0, "{warm}");
    assert_eq!(warm["hitratio"], 1.0);

    // The table, with -T: a warm read again.
    let done = measure(&["-T"], || read_all(&path));
    assert_eq!(
        done.stdout[0],
        "TIME         HITS   MISSES  DIRTIES HITRATIO   BUFFERS_MB  CACHED_MB"
    );
    let cols: Vec<&str> = done.stdout[1].split_whitespace().collect();
    assert_eq!(cols.len(), 7, "{:?}", done.stdout);
    assert_eq!(
        &cols[1..5],
        [PAGES.to_string().as_str(), "0", "0", "100.00%"]
    );
    common::assert_no_bpf_left(&done);
}

/// A large read of a small file counts the pages that exist, not the buffer.
#[test]
fn read_past_eof_counts_real_pages() {
    let (_dir, path) = scratch("small");
    let mut f = File::create(&path).unwrap();
    f.write_all(&vec![1u8; (3 * page_size()) as usize]).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let warm = only_line(&measure(&["--json"], || {
        let mut f = File::open(&path).unwrap();
        let mut buf = vec![0u8; (PAGES * page_size()) as usize];
        assert_eq!(f.read(&mut buf).unwrap() as u64, 3 * page_size());
    }));
    assert_eq!(
        (warm["hits"].as_u64(), warm["misses"].as_u64()),
        (Some(3), Some(0)),
        "{warm}"
    );
}

/// Writing 16 new pages dirties 16 buffers (4 KiB blocks: /tmp is on ext4
/// here) and 16 pages;
/// the pages the write adds are not read misses.
#[test]
fn new_pages_written_are_dirties_not_misses() {
    let (_dir, path) = scratch("write");
    // Created outside the measurement: creating a file dirties metadata
    // buffers too (inode table, directory).
    let mut f = File::create(&path).unwrap();
    let done = measure(&["--json"], || {
        f.write_all(&vec![3u8; (16 * page_size()) as usize])
            .unwrap();
    });
    let v = only_line(&done);
    assert_eq!(v["pages_dirtied"], 16, "{v}");
    // DIRTIES counts buffers: the 16 data blocks and the inode's own block
    // (size and mtime changed) or a few metadata blocks more.
    let dirties = v["dirties"].as_u64().unwrap();
    let data = 16 * page_size() / 4096;
    assert!((data..=data + 4).contains(&dirties), "{v}");
    assert_eq!(v["misses"], 0, "{v}");
}

#[test]
fn bad_input_is_one_line() {
    common::assert_one_line_error("cachestat", &["0"], 2, "positive");
    common::assert_one_line_error("cachestat", &["1", "-3"], 2, "not a positive count");
    common::assert_one_line_error("cachestat", &["--attach", "kprobe"], 1, "no kprobes");
}
