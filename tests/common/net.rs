//! Loopback TCP workloads for the network tools' tests: a listener on an
//! ephemeral port of 127.0.0.1 or ::1, and the other end in a forked child
//! (its own pid, optionally its own comm and uid) so tests can assert which
//! process a tool names. The child only makes raw system calls: it is forked
//! from a multi-threaded test process, where allocating could deadlock.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Command;
use std::time::Duration;

/// A listener on an ephemeral loopback port (127.0.0.1, or ::1 when `v6`).
pub fn listener(v6: bool) -> TcpListener {
    let addr: SocketAddr = if v6 {
        (Ipv6Addr::LOCALHOST, 0).into()
    } else {
        (Ipv4Addr::LOCALHOST, 0).into()
    };
    TcpListener::bind(addr).expect("bind a loopback listener")
}

pub fn port(l: &TcpListener) -> u16 {
    l.local_addr().expect("listener address").port()
}

/// 127.0.0.1:port, or [::1]:port when `v6`.
pub fn lo(v6: bool, port: u16) -> SocketAddr {
    if v6 {
        (Ipv6Addr::LOCALHOST, port).into()
    } else {
        (Ipv4Addr::LOCALHOST, port).into()
    }
}

/// A port nothing listens on (bound briefly, then released).
pub fn closed_port(v6: bool) -> u16 {
    port(&listener(v6))
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid; we fill one variant.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as u16,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as u16,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// What a forked client does.
#[derive(Clone, Copy)]
pub struct Client {
    pub dest: SocketAddr,
    /// Task name (at most 15 bytes, NUL-terminated).
    pub comm: Option<&'static [u8]>,
    pub uid: Option<u32>,
    /// Bytes to send, then bytes to read, then close.
    pub send: usize,
    pub recv: usize,
    /// A non-blocking connect: report the port once the SYN is out.
    pub nonblock: bool,
    /// A cgroup's `cgroup.procs` to join first.
    pub cgroup_procs: Option<&'static CStr>,
}

impl Client {
    pub fn to(dest: SocketAddr) -> Client {
        Client {
            dest,
            comm: None,
            uid: None,
            send: 0,
            recv: 0,
            nonblock: false,
            cgroup_procs: None,
        }
    }
}

/// A forked child and the pipe it reports on.
pub struct Child {
    pub pid: u32,
    rd: OwnedFd,
}

static ZEROS: [u8; 65536] = [0; 65536];

/// In a forked child: close every descriptor above stderr except `keep`.
/// Tests run on parallel threads, so a fork copies other tests' sockets; a
/// copy held open here would move their close (and tcplife's event) into
/// this child. close_range allocates nothing, which is all a child of a
/// threaded process may rely on.
fn close_all_but(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut from = 3u32;
    for &fd in keep.iter() {
        let fd = fd as u32;
        if fd > from {
            // SAFETY: a raw system call on descriptor numbers only.
            unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0u32) };
        }
        from = from.max(fd + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0u32) };
}

/// Fork; the child keeps only stdio, `keep` and its report pipe, runs
/// `body(report_fd)` and exits with its result.
pub fn fork_child(keep: &[RawFd], body: impl FnOnce(RawFd) -> i32) -> Child {
    let mut kept = [0 as RawFd; 8];
    assert!(keep.len() < kept.len(), "too many descriptors to keep");
    kept[..keep.len()].copy_from_slice(keep);
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 fills two descriptors.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
        0,
        "pipe"
    );
    // SAFETY: the child only makes raw system calls, then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: closing our copy of the read end.
        unsafe { libc::close(fds[0]) };
        kept[keep.len()] = fds[1];
        close_all_but(&mut kept[..=keep.len()]);
        let rc = body(fds[1]);
        // SAFETY: leave without running the parent's atexit handlers.
        unsafe { libc::_exit(rc) };
    }
    // SAFETY: we own the write end's parent copy; the read end is ours.
    unsafe { libc::close(fds[1]) };
    Child {
        pid: pid as u32,
        rd: unsafe { OwnedFd::from_raw_fd(fds[0]) },
    }
}

/// In the child: report a number to the parent.
pub fn report(fd: RawFd, v: u32) {
    let b = v.to_ne_bytes();
    // SAFETY: writing 4 bytes from a stack buffer.
    unsafe { libc::write(fd, b.as_ptr().cast(), 4) };
}

impl Child {
    /// The next number the child reported (None when it exited first).
    pub fn read_u32(&self) -> Option<u32> {
        let mut b = [0u8; 4];
        let mut f = std::fs::File::from(self.rd.try_clone().ok()?);
        f.read_exact(&mut b).ok()?;
        Some(u32::from_ne_bytes(b))
    }

    /// Wait for the child; its exit status.
    pub fn wait(self) -> i32 {
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(self.pid as i32, &mut st, 0) };
        if libc::WIFEXITED(st) {
            libc::WEXITSTATUS(st)
        } else {
            -1
        }
    }
}

/// In a forked child: join a cgroup ("0" names the writer itself).
fn join_cgroup(procs: &CStr) -> bool {
    // SAFETY: raw open/write/close on a NUL-terminated path.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
        if fd < 0 {
            return false;
        }
        let ok = libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
        libc::close(fd);
        ok
    }
}

fn set_identity(comm: Option<&'static [u8]>, uid: Option<u32>) -> bool {
    if let Some(c) = comm {
        // SAFETY: c is NUL-terminated static bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr()) };
    }
    if let Some(u) = uid {
        // The raw system call: glibc's setuid synchronises threads that the
        // forked child no longer has.
        // SAFETY: plain system calls.
        if unsafe { libc::syscall(libc::SYS_setgid, u) } != 0
            || unsafe { libc::syscall(libc::SYS_setuid, u) } != 0
        {
            return false;
        }
    }
    true
}

/// Fork a client: connect, report the local port, send, receive, close.
/// Exit status 0 on success.
pub fn spawn_client(c: Client) -> Child {
    let (ss, len) = sockaddr(c.dest);
    let family = if c.dest.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    fork_child(&[], move |out| {
        if c.cgroup_procs.is_some_and(|p| !join_cgroup(p)) {
            return 9;
        }
        if !set_identity(c.comm, c.uid) {
            return 10;
        }
        // SAFETY: raw socket calls on buffers we own.
        unsafe {
            let fd = libc::socket(family, libc::SOCK_STREAM, 0);
            if fd < 0 {
                return 11;
            }
            if c.nonblock {
                libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
            }
            if libc::connect(fd, &ss as *const _ as *const libc::sockaddr, len) != 0
                && !(c.nonblock && *libc::__errno_location() == libc::EINPROGRESS)
            {
                report(out, 0);
                return 12;
            }
            let mut me: libc::sockaddr_storage = std::mem::zeroed();
            let mut mlen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            libc::getsockname(fd, &mut me as *mut _ as *mut libc::sockaddr, &mut mlen);
            // The port sits at the same offset in sockaddr_in and sockaddr_in6.
            let port = u16::from_be((*(&me as *const _ as *const libc::sockaddr_in)).sin_port);
            report(out, port as u32);
            let mut left = c.send;
            while left > 0 {
                let n = libc::write(fd, ZEROS.as_ptr().cast(), left.min(ZEROS.len()));
                if n <= 0 {
                    return 13;
                }
                left -= n as usize;
            }
            let mut buf = [0u8; 4096];
            let mut left = c.recv;
            while left > 0 {
                let n = libc::read(fd, buf.as_mut_ptr().cast(), left.min(buf.len()));
                if n <= 0 {
                    return 14;
                }
                left -= n as usize;
            }
            libc::close(fd);
        }
        0
    })
}

/// The server side of one connection: accept, read exactly `recv` bytes,
/// write `send` bytes, then close (after the peer closes, when `wait_eof`).
/// Returns the accepted peer address.
pub fn serve_one(l: &TcpListener, recv: usize, send: usize, wait_eof: bool) -> SocketAddr {
    let (mut s, peer) = l.accept().expect("accept");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = vec![0u8; recv];
    s.read_exact(&mut buf).expect("read the client's bytes");
    s.write_all(&vec![0u8; send]).expect("write to the client");
    if wait_eof {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    peer
}

/// Connect from this process (pid = the test's); returns the stream.
pub fn connect(dest: SocketAddr) -> TcpStream {
    TcpStream::connect_timeout(&dest, Duration::from_secs(5)).expect("connect")
}

/// Fork an acceptor: accepts one connection on `l` (inherited) with accept4(),
/// or accept() when `plain`, reports the peer's port, closes. Exit status 0
/// on success.
pub fn spawn_acceptor(l: &TcpListener, comm: Option<&'static [u8]>, plain: bool) -> Child {
    let lfd = l.as_raw_fd();
    fork_child(&[lfd], move |out| {
        if !set_identity(comm, None) {
            return 10;
        }
        // SAFETY: raw socket calls on buffers we own.
        unsafe {
            let mut peer: libc::sockaddr_storage = std::mem::zeroed();
            let mut plen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            let pa = &mut peer as *mut _ as *mut libc::sockaddr;
            let fd = if plain {
                libc::accept(lfd, pa, &mut plen)
            } else {
                libc::accept4(lfd, pa, &mut plen, 0)
            };
            if fd < 0 {
                return 11;
            }
            let port = u16::from_be((*(&peer as *const _ as *const libc::sockaddr_in)).sin_port);
            report(out, port as u32);
            libc::close(fd);
        }
        0
    })
}

/// Run a command, panicking with its output when it fails.
pub fn sh(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// iptables/ip6tables, installed with apt when missing.
pub fn ensure_iptables() {
    let have = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("iptables") && have("ip6tables") {
        return;
    }
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    sh(
        "apt-get",
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "iptables",
        ],
    );
    assert!(
        have("iptables") && have("ip6tables"),
        "iptables still missing after apt-get install"
    );
}

/// A netfilter rule dropping TCP packets to a loopback port on input, removed
/// on drop (also when the test fails).
pub struct DropRule {
    cmd: &'static str,
    spec: Vec<String>,
}

impl DropRule {
    pub fn to_port(v6: bool, port: u16) -> DropRule {
        ensure_iptables();
        let cmd = if v6 { "ip6tables" } else { "iptables" };
        let spec: Vec<String> = [
            "INPUT",
            "-i",
            "lo",
            "-p",
            "tcp",
            "--dport",
            &port.to_string(),
            "-j",
            "DROP",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut args = vec!["-w".to_string(), "-I".to_string()];
        args.extend(spec.iter().cloned());
        sh(cmd, &args.iter().map(String::as_str).collect::<Vec<_>>());
        DropRule { cmd, spec }
    }
}

impl Drop for DropRule {
    fn drop(&mut self) {
        let mut args = vec!["-w".to_string(), "-D".to_string()];
        args.extend(self.spec.iter().cloned());
        let _ = Command::new(self.cmd).args(&args).status();
    }
}

/// The first 15 bytes of this process's name (what the kernel keeps as comm).
pub fn own_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .expect("/proc/self/comm")
        .trim_end()
        .to_string()
}

/// A cgroup's `cgroup.procs` as a C string that lives as long as the test.
pub fn procs_path(cg: &super::TestCgroup) -> &'static CStr {
    let p = cg.0.join("cgroup.procs");
    let c = std::ffi::CString::new(p.to_str().expect("utf-8 cgroup path")).expect("no NUL");
    Box::leak(c.into_boxed_c_str())
}

/// One finished loopback session (see [`exchange`]).
pub struct Exchange {
    /// The server's (listening) port.
    pub port: u16,
    /// The client's port.
    pub cport: u16,
    /// The client's pid.
    pub pid: u32,
}

/// A forked client named `comm` sends `up` bytes and reads `down`, then
/// closes; this process serves it and closes after it.
pub fn exchange(v6: bool, up: usize, down: usize, comm: &'static [u8]) -> Exchange {
    let l = listener(v6);
    let port = port(&l);
    let child = spawn_client(Client {
        comm: Some(comm),
        send: up,
        recv: down,
        ..Client::to(lo(v6, port))
    });
    serve_one(&l, up, down, true);
    let cport = child.read_u32().expect("client's port") as u16;
    let pid = child.pid;
    assert_eq!(child.wait(), 0, "the client's exchange failed");
    Exchange { port, cport, pid }
}

/// Wait (at most 5 s) until the tool printed a line containing `needle`.
pub fn wait_line(t: &super::Traced, needle: &str) {
    let seen = t.wait_for(Duration::from_secs(5), |l| l.contains(needle));
    assert!(
        seen.is_some(),
        "no line with {needle:?} in 5 s: {:?}",
        t.lines()
    );
}
