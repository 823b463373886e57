//! A real filesystem for a test: a sparse image file, mkfs, a loop device
//! and a mount in a fresh temporary directory. Everything is undone on drop,
//! also when the test fails half-way (drop runs while a panic unwinds).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

pub struct LoopFs {
    /// Where the filesystem is mounted.
    pub mnt: PathBuf,
    pub fstype: String,
    /// The loop device, e.g. /dev/loop3.
    pub dev: Option<String>,
    dir: PathBuf,
    image: PathBuf,
    mounted: bool,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl LoopFs {
    /// A fresh `fstype` ("ext4", "xfs", "btrfs") filesystem of `mib` MiB,
    /// mounted under /tmp. Panics (after cleaning up) if any step fails.
    pub fn new(fstype: &str, mib: u64) -> LoopFs {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("ironscope-{fstype}-{}-{n}", std::process::id()));
        let mut fs = LoopFs {
            mnt: dir.join("mnt"),
            fstype: fstype.to_string(),
            dev: None,
            image: dir.join("image"),
            dir,
            mounted: false,
        };
        if let Err(e) = fs.setup(mib) {
            // `fs` is dropped on the way out of this panic: partial setup is undone.
            panic!("cannot make a {fstype} loop filesystem: {e}");
        }
        fs
    }

    fn setup(&mut self, mib: u64) -> Result<(), String> {
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(&self.mnt)
            .map_err(|e| format!("mkdir {}: {e}", self.mnt.display()))?;
        run(Command::new("truncate")
            .arg("-s")
            .arg(format!("{mib}M"))
            .arg(&self.image))?;
        let mkfs = format!("mkfs.{}", self.fstype);
        let mut cmd = Command::new(&mkfs);
        match self.fstype.as_str() {
            "ext4" => cmd.args(["-q", "-F", "-b", "4096"]),
            "xfs" => cmd.args(["-q", "-f"]),
            "btrfs" => cmd.args(["-q", "-f"]),
            _ => &mut cmd,
        };
        run(cmd.arg(&self.image))?;
        let dev = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&self.image))?;
        self.dev = Some(dev.clone());
        run(Command::new("mount")
            .arg("-t")
            .arg(&self.fstype)
            .arg(&dev)
            .arg(&self.mnt))?;
        self.mounted = true;
        Ok(())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.mnt.join(name)
    }

    /// The device number of the mounted filesystem (st_dev).
    pub fn st_dev(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.mnt).expect("stat mount").dev()
    }
}

fn umount(p: &Path) -> bool {
    for _ in 0..50 {
        if run(Command::new("umount").arg(p)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Still busy (a process left behind by a failed test): detach it lazily.
    run(Command::new("umount").arg("-l").arg(p)).is_ok()
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        if self.mounted {
            self.mounted = !umount(&self.mnt);
        }
        if let Some(dev) = self.dev.take() {
            let _ = run(Command::new("losetup").arg("-d").arg(&dev));
        }
        let _ = std::fs::remove_file(&self.image);
        if !self.mounted {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A fresh directory under the system temp dir, removed with its contents
/// on drop (also when the test panics).
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new(tag: &str) -> ScratchDir {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("ironscope-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch dir");
        ScratchDir(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
