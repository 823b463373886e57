/* vmt-tcp PORT: one process plays both ends of a loopback TCP connection
 * (listen on 127.0.0.1:PORT, connect, accept, send 4 bytes each way, close),
 * giving network tools one known connection with a known pid and ports.
 * Prints "pid=N lport=PORT cport=P" where cport is the client's source port. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: vmt-tcp PORT\n");
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;

	int ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
		die("bind/listen");

	int cs = socket(AF_INET, SOCK_STREAM, 0);
	if (cs < 0 || connect(cs, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	int as = accept(ls, NULL, NULL);
	if (as < 0)
		die("accept");

	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	getsockname(cs, (struct sockaddr *)&me, &len);
	printf("pid=%d lport=%d cport=%d\n", (int)getpid(), atoi(argv[1]), ntohs(me.sin_port));
	fflush(stdout);

	char b[4];
	if (write(cs, "ping", 4) != 4 || read(as, b, 4) != 4 ||
	    write(as, "pong", 4) != 4 || read(cs, b, 4) != 4)
		die("exchange");
	/* Client closes first so its side walks FIN_WAIT -> TIME_WAIT. */
	close(cs);
	close(as);
	close(ls);
	return 0;
}
