//! A loop device over a sparse file in /tmp, detached and removed on drop:
//! a disk whose every request the test itself makes.

use std::path::PathBuf;
use std::process::Command;

pub struct LoopDev {
    /// e.g. "/dev/loop7"
    pub path: String,
    /// e.g. "loop7"
    pub name: String,
    file: PathBuf,
}

impl LoopDev {
    /// `size_mb` MiB; `direct_io` makes the loop driver bypass the page
    /// cache of its backing file (losetup --direct-io=on).
    pub fn new(tag: &str, size_mb: u64, direct_io: bool) -> LoopDev {
        let file = std::env::temp_dir().join(format!("ironscope-{tag}-{}.img", std::process::id()));
        let f = std::fs::File::create(&file).expect("create loop backing file");
        f.set_len(size_mb << 20).expect("size loop backing file");
        drop(f);
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(format!(
                "--direct-io={}",
                if direct_io { "on" } else { "off" }
            ))
            .arg(&file)
            .output()
            .expect("run losetup");
        if !out.status.success() {
            let _ = std::fs::remove_file(&file);
            panic!("losetup failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let name = path.trim_start_matches("/dev/").to_string();
        LoopDev { path, name, file }
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.path).status();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// dd with O_DIRECT on `dev`: `count` requests of `bs` bytes from block
/// `at` (in units of `bs`), writing zeros or reading to /dev/null. dd's pid.
pub fn dd_direct(dev: &str, write: bool, bs: usize, count: usize, at: usize) -> u32 {
    let mut cmd = Command::new("dd");
    if write {
        cmd.arg("if=/dev/zero")
            .arg(format!("of={dev}"))
            .arg(format!("seek={at}"))
            .args(["oflag=direct", "conv=notrunc"]);
    } else {
        cmd.arg(format!("if={dev}"))
            .arg("of=/dev/null")
            .arg(format!("skip={at}"))
            .arg("iflag=direct");
    }
    let mut child = cmd
        .arg(format!("bs={bs}"))
        .arg(format!("count={count}"))
        .arg("status=none")
        .spawn()
        .expect("spawn dd");
    let pid = child.id();
    assert!(
        child.wait().expect("wait dd").success(),
        "dd on {dev} failed"
    );
    pid
}
