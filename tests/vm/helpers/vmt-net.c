/* vmt-net [-6] [-s SEND] [-r RECV] [-d MS] PORT: one process plays both ends
 * of a loopback TCP connection on 127.0.0.1:PORT (or [::1]:PORT with -6),
 * for the network tools' guest cases:
 *
 *   listen, connect, accept; print "pid=N lport=PORT cport=C" (C: the
 *   client's port); the client sends SEND bytes, the server reads them and
 *   sends RECV bytes back, the client reads them; the client closes first,
 *   then the server.
 *
 * -d MS: retransmits instead. The server's socket lives in a fresh cgroup
 * whose ingress a two-instruction BPF program (return 0) drops; the client
 * writes 2000 bytes, which are never acknowledged, so the client retransmits
 * them (and sends tail loss probes) for MS milliseconds. Then the program
 * is detached, the cgroup removed and both ends closed. The guest has no
 * netfilter tools; this needs only the bpf() system call. The cgroup v2 root
 * is /sys/fs/cgroup, or $VMT_CGROUP. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} addr;
static socklen_t addr_len;
static int family = AF_INET;

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

static void join_cgroup(const char *dir)
{
	char path[256], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	write_file(path, pid);
}

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* A cgroup_skb program that drops every packet: r0 = 0; exit. */
static int load_drop_prog(void)
{
	struct bpf_insn insns[2];
	union bpf_attr attr;
	int fd;

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
	insns[0].dst_reg = BPF_REG_0;
	insns[1].code = BPF_JMP | BPF_EXIT;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SKB;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	fd = bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		die("bpf(BPF_PROG_LOAD)");
	return fd;
}

static void cgroup_prog(int cmd, int cg, int prog)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = cg;
	attr.attach_bpf_fd = prog;
	attr.attach_type = BPF_CGROUP_INET_INGRESS;
	if (bpf(cmd, &attr))
		die(cmd == BPF_PROG_ATTACH ? "bpf(BPF_PROG_ATTACH)" : "bpf(BPF_PROG_DETACH)");
}

static void xfer(int fd, size_t n, int sending)
{
	static char buf[65536];

	while (n > 0) {
		size_t chunk = n < sizeof(buf) ? n : sizeof(buf);
		ssize_t got = sending ? write(fd, buf, chunk) : read(fd, buf, chunk);

		if (got <= 0)
			die(sending ? "write" : "read");
		n -= (size_t)got;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	size_t send_n = 0, recv_n = 0;
	long drop_ms = 0;
	char cgdir[256] = "";
	const char *cgroot = getenv("VMT_CGROUP") ? getenv("VMT_CGROUP") : "/sys/fs/cgroup";
	int opt, one = 1, ls, cs, as, cg = -1, prog = -1;

	while ((opt = getopt(argc, argv, "6s:r:d:")) != -1) {
		switch (opt) {
		case '6': family = AF_INET6; break;
		case 's': send_n = strtoul(optarg, NULL, 10); break;
		case 'r': recv_n = strtoul(optarg, NULL, 10); break;
		case 'd': drop_ms = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: vmt-net [-6] [-s SEND] [-r RECV] [-d MS] PORT\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: vmt-net [-6] [-s SEND] [-r RECV] [-d MS] PORT\n");
		return 2;
	}
	int port = atoi(argv[optind]);

	memset(&addr, 0, sizeof(addr));
	if (family == AF_INET6) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(port);
		addr.in6.sin6_addr = in6addr_loopback;
		addr_len = sizeof(addr.in6);
	} else {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons(port);
		addr.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr_len = sizeof(addr.in);
	}

	/* The client's socket belongs to the cgroup we start in. */
	cs = socket(family, SOCK_STREAM, 0);
	if (cs < 0)
		die("socket");
	if (drop_ms > 0) {
		snprintf(cgdir, sizeof(cgdir), "%s/vmt-net-%d", cgroot, (int)getpid());
		if (mkdir(cgdir, 0755))
			die(cgdir);
		join_cgroup(cgdir);
	}
	/* The listener (and so the accepted socket) belongs to the drop cgroup. */
	ls = socket(family, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, &addr.sa, addr_len) || listen(ls, 1))
		die("bind/listen");
	if (drop_ms > 0)
		join_cgroup(cgroot);
	if (connect(cs, &addr.sa, addr_len))
		die("connect");
	as = accept(ls, NULL, NULL);
	if (as < 0)
		die("accept");

	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} me;
	socklen_t len = sizeof(me);
	getsockname(cs, &me.sa, &len);
	int cport = ntohs(family == AF_INET6 ? me.in6.sin6_port : me.in.sin_port);
	printf("pid=%d lport=%d cport=%d\n", (int)getpid(), port, cport);
	fflush(stdout);

	if (drop_ms > 0) {
		cg = open(cgdir, O_RDONLY | O_DIRECTORY);
		if (cg < 0)
			die(cgdir);
		prog = load_drop_prog();
		cgroup_prog(BPF_PROG_ATTACH, cg, prog);
		xfer(cs, 2000, 1);
		sleep_ms(drop_ms);
		cgroup_prog(BPF_PROG_DETACH, cg, prog);
		close(prog);
		close(cg);
		close(cs);
		close(as);
		close(ls);
		if (rmdir(cgdir))
			perror("rmdir");
		return 0;
	}

	xfer(cs, send_n, 1);
	xfer(as, send_n, 0);
	xfer(as, recv_n, 1);
	xfer(cs, recv_n, 0);
	/* Client closes first: it walks FIN_WAIT -> TIME_WAIT, the server
	 * CLOSE_WAIT -> LAST_ACK. */
	close(cs);
	sleep_ms(50);
	close(as);
	close(ls);
	return 0;
}
