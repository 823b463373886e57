//! opensnoop on this kernel: the test itself opens paths nobody else uses,
//! with known flags, from a known pid and thread, and checks the exact rows.

mod common;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A path unique to this test run and `tag`.
fn unique(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ironscope-opensnoop-{}-{tag}", std::process::id()))
}

/// open(2) from this thread: (fd or -1, errno).
fn open_here(path: &Path, flags: i32, mode: u32) -> (i32, i32) {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; the fd is closed below.
    let fd = unsafe { libc::open(c.as_ptr(), flags, mode) };
    let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    if fd >= 0 {
        unsafe { libc::close(fd) };
        (fd, 0)
    } else {
        (-1, err)
    }
}

fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

/// The table row whose PATH column is `path`.
fn row_for<'a>(lines: &'a [String], path: &Path) -> Option<&'a String> {
    let p = path.to_str().unwrap();
    lines.iter().find(|l| l.ends_with(&format!(" {p}")))
}

fn json_for<'a>(objs: &'a [serde_json::Value], path: &Path) -> Vec<&'a serde_json::Value> {
    let p = path.to_str().unwrap();
    objs.iter().filter(|o| o["path"] == p).collect()
}

/// Columns of a default row: PID COMM FD ERR PATH.
fn cols(row: &str) -> Vec<&str> {
    row.split_whitespace().collect()
}

#[test]
fn success_and_failure_rows_then_nothing_left() {
    let ok = unique("ok");
    let missing = unique("missing");
    std::fs::write(&ok, b"x").unwrap();
    let t = start("opensnoop", &[]);
    let (fd, _) = open_here(&ok, libc::O_RDONLY, 0);
    let (_, err) = open_here(&missing, libc::O_RDONLY, 0);
    assert!(fd >= 0);
    assert_eq!(err, libc::ENOENT);
    let l = t.wait_for(Duration::from_secs(5), |l| {
        l.contains(missing.to_str().unwrap())
    });
    assert!(l.is_some(), "no row for the missing path");
    let f = t.stop();
    assert!(f.status.success(), "{}", f.stderr);
    assert_eq!(
        f.stdout[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM", "FD", "ERR", "PATH"]
    );
    let pid = std::process::id().to_string();
    let r = row_for(&f.stdout, &ok).expect("row for the opened path");
    let c = cols(r);
    assert_eq!(
        (c[0], c[2], c[3]),
        (pid.as_str(), fd.to_string().as_str(), "0"),
        "{r}"
    );
    let r = row_for(&f.stdout, &missing).expect("row for the missing path");
    let c = cols(r);
    assert_eq!((c[0], c[2], c[3]), (pid.as_str(), "-1", "2"), "{r}");
    assert_no_bpf_left(&f);
    let _ = std::fs::remove_file(&ok);
}

#[test]
fn json_fields() {
    let created = unique("json-created");
    let missing = unique("json-missing");
    let t = start("opensnoop", &["--json"]);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
    let (fd, _) = open_here(&created, flags, 0o640);
    let (_, err) = open_here(&missing, libc::O_RDWR, 0);
    assert!(fd >= 0 && err == libc::ENOENT);
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(missing.to_str().unwrap())
    });
    let tool_pid = t.child.id();
    let f = t.stop();
    let objs = f.json();
    // The tool's own opens (tracefs files while attaching) are not shown.
    assert!(objs.iter().all(|o| o["pid"] != tool_pid), "{:?}", f.stdout);
    let o = json_for(&objs, &created);
    assert_eq!(o.len(), 1, "{:?}", f.stdout);
    let o = o[0];
    assert_eq!(o["pid"], std::process::id());
    assert_eq!(o["tid"], gettid());
    assert_eq!(o["uid"], 0);
    assert_eq!(o["fd"], fd);
    assert_eq!(o["errno"], 0);
    assert_eq!(o["error"], serde_json::Value::Null);
    assert_eq!(o["flags"], flags);
    assert_eq!(
        o["flag_names"],
        serde_json::json!(["O_WRONLY", "O_CREAT", "O_EXCL", "O_CLOEXEC"])
    );
    assert_eq!(o["mode"], 0o640);
    assert_eq!(o["syscall"], "openat"); // glibc's open() is openat(AT_FDCWD, ...)
    assert_eq!(o["dirfd"], -100);
    assert!(
        o["timestamp"].as_f64().is_some_and(|t| t > 0.0 && t < 60.0),
        "{o}"
    );
    let m = json_for(&objs, &missing);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["fd"], -1);
    assert_eq!(m[0]["errno"], 2);
    assert_eq!(m[0]["error"], "ENOENT");
    assert_eq!(m[0]["flag_names"], serde_json::json!(["O_RDWR"]));
    let _ = std::fs::remove_file(&created);
}

#[test]
fn failed_only() {
    let ok = unique("x-ok");
    let missing = unique("x-missing");
    std::fs::write(&ok, b"x").unwrap();
    let t = start("opensnoop", &["-x"]);
    open_here(&ok, libc::O_RDONLY, 0);
    open_here(&missing, libc::O_RDONLY, 0);
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(missing.to_str().unwrap())
    });
    let f = t.stop();
    assert!(row_for(&f.stdout, &missing).is_some(), "{:?}", f.stdout);
    assert!(
        row_for(&f.stdout, &ok).is_none(),
        "-x showed a successful open"
    );
    assert!(
        // FD is the first number after PID and COMM (a comm may hold spaces).
        f.stdout.iter().skip(1).all(|l| cols(l)
            .windows(2)
            .skip(1)
            .find(|w| w[0].parse::<i64>().is_ok() && w[1].parse::<u32>().is_ok())
            .is_some_and(|w| w[0] == "-1")),
        "{:?}",
        f.stdout
    );
    let _ = std::fs::remove_file(&ok);
}

/// A child that opens `path` once a line arrives on its stdin, so its pid
/// can be given to -p before it opens.
fn opener_waiting(path: &Path) -> std::process::Child {
    Command::new("sh")
        .arg("-c")
        .arg("read x; exec cat \"$0\"")
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn release(child: &mut std::process::Child) {
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    child.wait().unwrap();
}

#[test]
fn pid_filter_includes_and_excludes() {
    let mine = unique("p-mine");
    let other = unique("p-other");
    std::fs::write(&mine, b"x").unwrap();
    std::fs::write(&other, b"x").unwrap();
    let mut a = opener_waiting(&mine);
    let mut b = opener_waiting(&other);
    let pid = a.id().to_string();
    let t = start("opensnoop", &["-p", &pid]);
    release(&mut b);
    release(&mut a);
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(mine.to_str().unwrap())
    });
    let f = t.stop();
    let r = row_for(&f.stdout, &mine).expect("the traced pid's open");
    assert_eq!(cols(r)[0], pid);
    assert_eq!(cols(r)[1], "cat");
    assert!(
        row_for(&f.stdout, &other).is_none(),
        "another pid's open was shown"
    );
    assert!(
        f.stdout.iter().skip(1).all(|l| cols(l)[0] == pid),
        "{:?}",
        f.stdout
    );
    let _ = std::fs::remove_file(&mine);
    let _ = std::fs::remove_file(&other);
}

#[test]
fn tid_and_uid_filters() {
    let path = unique("tid");
    let t = start("opensnoop", &["-t", &gettid().to_string(), "-U"]);
    let u = start("opensnoop", &["-u", "4242", "-x"]);
    open_here(&path, libc::O_RDONLY, 0);
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(path.to_str().unwrap())
    });
    let f = t.stop();
    let g = u.stop();
    assert!(f.stdout[0].starts_with("UID    TID "), "{}", f.stdout[0]);
    let r = row_for(&f.stdout, &path).expect("the thread's open");
    assert_eq!(cols(r)[0], "0");
    assert_eq!(cols(r)[1], gettid().to_string());
    assert!(
        row_for(&g.stdout, &path).is_none(),
        "-u 4242 showed root's open"
    );
}

#[test]
fn flag_filter_and_extended_column() {
    let created = unique("f-creat");
    let plain = unique("f-plain");
    std::fs::write(&plain, b"x").unwrap();
    let t = start("opensnoop", &["-f", "O_CREAT", "-e"]);
    open_here(&plain, libc::O_RDWR, 0);
    let (fd, _) = open_here(
        &created,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
        0o600,
    );
    assert!(fd >= 0);
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(created.to_str().unwrap())
    });
    let f = t.stop();
    assert_eq!(
        cols(&f.stdout[0]),
        ["PID", "COMM", "FD", "ERR", "FLAGS", "PATH"]
    );
    let r = row_for(&f.stdout, &created).expect("the O_CREAT open");
    // O_WRONLY|O_CREAT|O_TRUNC in octal, as bcc prints it
    assert_eq!(cols(r)[4], "00001101", "{r}");
    assert!(
        row_for(&f.stdout, &plain).is_none(),
        "-f O_CREAT showed an open without it"
    );
    // Every row shown has O_CREAT (0100) set.
    // A comm may hold spaces ("lto cgu.03"), so find FD ERR FLAGS as the
    // first run of two numbers and eight octal digits.
    for l in f.stdout.iter().skip(1) {
        let c = cols(l);
        let flags = c
            .windows(3)
            .skip(1)
            .find(|w| {
                w[0].parse::<i64>().is_ok()
                    && w[1].parse::<u32>().is_ok()
                    && w[2].len() == 8
                    && w[2].bytes().all(|b| (b'0'..=b'7').contains(&b))
            })
            .map(|w| u32::from_str_radix(w[2], 8).unwrap())
            .unwrap_or_else(|| panic!("no FD ERR FLAGS in {l}"));
        assert_ne!(flags & 0o100, 0, "{l}");
    }
    let _ = std::fs::remove_file(&created);
    let _ = std::fs::remove_file(&plain);
}

#[test]
fn access_mode_filter() {
    let ro = unique("acc-ro");
    let wo = unique("acc-wo");
    std::fs::write(&ro, b"x").unwrap();
    std::fs::write(&wo, b"x").unwrap();
    let t = start("opensnoop", &["-f", "O_WRONLY", "--json"]);
    open_here(&ro, libc::O_RDONLY, 0);
    open_here(&wo, libc::O_WRONLY, 0);
    t.wait_for(Duration::from_secs(5), |l| l.contains(wo.to_str().unwrap()));
    let f = t.stop();
    let objs = f.json();
    assert_eq!(json_for(&objs, &wo).len(), 1);
    assert!(
        json_for(&objs, &ro).is_empty(),
        "-f O_WRONLY showed an O_RDONLY open"
    );
    let _ = std::fs::remove_file(&ro);
    let _ = std::fs::remove_file(&wo);
}

#[test]
fn name_filter_is_a_substring_of_comm() {
    let path = unique("name");
    let t = start("opensnoop", &["-n", "snoopnm", "--json"]);
    let u = start("opensnoop", &["-n", "zzznomatch", "--json"]);
    let p = path.clone();
    std::thread::Builder::new()
        .name("os-snoopnm-t".into())
        .spawn(move || open_here(&p, libc::O_RDONLY, 0))
        .unwrap()
        .join()
        .unwrap();
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(path.to_str().unwrap())
    });
    let f = t.stop();
    let g = u.stop();
    let objs = f.json();
    let o = json_for(&objs, &path);
    assert_eq!(o.len(), 1, "{:?}", f.stdout);
    assert_eq!(o[0]["comm"], "os-snoopnm-t");
    assert!(objs
        .iter()
        .all(|o| o["comm"].as_str().unwrap().contains("snoopnm")));
    assert!(json_for(&g.json(), &path).is_empty());
}

#[test]
fn full_path_for_cwd_and_dirfd() {
    let dir = unique("fdir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/file"), b"x").unwrap();
    let t = start("opensnoop", &["-F", "--json"]);
    // Relative to the cwd of a child...
    let st = Command::new("cat")
        .arg("./sub/file")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    // ...and to a directory fd, with openat from this thread.
    let cdir = CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    let rel = CString::new("sub/nope").unwrap();
    // SAFETY: valid C strings; fds closed below.
    let (dfd, fd) = unsafe {
        let dfd = libc::open(cdir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        (dfd, libc::openat(dfd, rel.as_ptr(), libc::O_RDONLY))
    };
    assert!(dfd >= 0 && fd < 0);
    unsafe { libc::close(dfd) };
    let want_dirfd = dir.join("sub/nope");
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(want_dirfd.to_str().unwrap())
    });
    let f = t.stop();
    let objs = f.json();
    // temp_dir may itself be a symlink; the kernel shows the real directory.
    let real = std::fs::canonicalize(&dir).unwrap();
    let o = json_for(&objs, &real.join("sub/file"));
    assert_eq!(o.len(), 1, "{:?}", f.stdout);
    assert_eq!(o[0]["given_path"], "./sub/file");
    assert_eq!(o[0]["errno"], 0);
    let o = json_for(&objs, &real.join("sub/nope"));
    assert_eq!(o.len(), 1, "{:?}", f.stdout);
    assert_eq!(o[0]["given_path"], "sub/nope");
    assert_eq!(o[0]["dirfd"], dfd);
    assert_eq!(o[0]["error"], "ENOENT");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timestamp_column_and_duration() {
    let path = unique("ts");
    let t = start("opensnoop", &["-T", "-d", "2"]);
    open_here(&path, libc::O_RDONLY, 0);
    // -d ends the tool by itself, with status 0.
    let f = t.wait(Duration::from_secs(10));
    assert!(f.status.success(), "{}", f.stderr);
    assert!(
        f.stdout[0].starts_with("TIME(s)       PID "),
        "{}",
        f.stdout[0]
    );
    let r = row_for(&f.stdout, &path).expect("row");
    let secs: f64 = cols(r)[0].parse().unwrap();
    assert!(secs > 0.0 && secs < 2.5, "{r}");
    assert_eq!(cols(r)[4], "2"); // ERR ENOENT
}

#[test]
fn bad_input() {
    assert_one_line_error("opensnoop", &["-p", "0"], 2, "not a valid process id");
    assert_one_line_error("opensnoop", &["-f", "O_NOPE"], 2, "not an open flag");
    assert_one_line_error("opensnoop", &["-n", "a-name-far-too-long"], 2, "-n NAME");
    assert_one_line_error("opensnoop", &["-d", "soon"], 2, "not a duration");
    assert_one_line_error(
        "opensnoop",
        &["--attach", "kprobe"],
        2,
        "no kprobe hook path",
    );
    assert_one_line_error("opensnoop", &["-b", "3"], 2, "power of two");
}

/// Each of the four calls, made directly, with its own argument layout.
#[test]
fn open_openat_openat2_creat() {
    let p_open = unique("call-open");
    let p_creat = unique("call-creat");
    let p_at2 = unique("call-openat2");
    let t = start("opensnoop", &["--json"]);
    let c = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let (a, b, d) = (c(&p_open), c(&p_creat), c(&p_at2));
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (libc::O_RDWR | libc::O_CREAT) as u64,
        mode: 0o600,
        resolve: 0,
    };
    // SAFETY: raw syscalls with valid pointers; fds closed below.
    let fds = unsafe {
        [
            libc::syscall(
                libc::SYS_open,
                a.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW,
            ),
            libc::syscall(libc::SYS_creat, b.as_ptr(), 0o644),
            libc::syscall(
                libc::SYS_openat2,
                libc::AT_FDCWD,
                d.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            ),
        ]
    };
    for fd in &fds[1..] {
        assert!(*fd >= 0);
        unsafe { libc::close(*fd as i32) };
    }
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(p_at2.to_str().unwrap())
    });
    let f = t.stop();
    let objs = f.json();
    let one = |p: &Path| {
        let v = json_for(&objs, p);
        assert_eq!(v.len(), 1, "{p:?}: {:?}", f.stdout);
        v[0].clone()
    };
    let o = one(&p_open);
    assert_eq!(o["syscall"], "open");
    assert_eq!(o["error"], "ENOENT");
    assert_eq!(
        o["flag_names"],
        serde_json::json!(["O_RDONLY", "O_NOFOLLOW"])
    );
    let o = one(&p_creat);
    assert_eq!(o["syscall"], "creat");
    assert_eq!(o["fd"], fds[1]);
    assert_eq!(
        o["flag_names"],
        serde_json::json!(["O_WRONLY", "O_CREAT", "O_TRUNC"])
    );
    assert_eq!(o["mode"], 0o644);
    let o = one(&p_at2);
    assert_eq!(o["syscall"], "openat2");
    assert_eq!(o["fd"], fds[2]);
    assert_eq!(o["flag_names"], serde_json::json!(["O_RDWR", "O_CREAT"]));
    assert_eq!(o["mode"], 0o600);
    let _ = std::fs::remove_file(&p_creat);
    let _ = std::fs::remove_file(&p_at2);
}

#[test]
fn cgroup_filter() {
    let inside = unique("cg-in");
    let outside = unique("cg-out");
    let cg = TestCgroup::new("opensnoop");
    let cgpath = cg.0.to_str().unwrap().to_string();
    let t = start("opensnoop", &["--cgroup", &cgpath, "--json"]);
    let st = cg
        .command("cat", &[inside.to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!st.success()); // the path does not exist
    let _ = Command::new("cat")
        .arg(&outside)
        .stderr(Stdio::null())
        .status();
    t.wait_for(Duration::from_secs(5), |l| {
        l.contains(inside.to_str().unwrap())
    });
    let f = t.stop();
    let objs = f.json();
    let o = json_for(&objs, &inside);
    assert_eq!(o.len(), 1, "{:?}", f.stdout);
    assert_eq!(o[0]["comm"], "cat");
    assert_eq!(o[0]["errno"], 2);
    assert!(
        json_for(&objs, &outside).is_empty(),
        "an open outside the cgroup was shown"
    );
}
