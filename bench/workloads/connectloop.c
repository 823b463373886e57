/* TCP connect() to a listener on 127.0.0.1, accept, close: what the TCP
 * tools see. The client closes with RST (SO_LINGER 0) so no TIME_WAIT
 * sockets pile up and ports never run out. */
#include "wl.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct wl w;
	unsigned long n = 0;
	int one = 1, lfd;

	wl_init(&w, argc, argv, 0, "");
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		wl_die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		wl_die("listen");
	wl_begin(&w);
	while (wl_more(&w, n)) {
		int c = socket(AF_INET, SOCK_STREAM, 0), a;

		if (c < 0)
			wl_die("socket");
		/* On loopback the handshake completes inside connect(). */
		if (connect(c, (struct sockaddr *)&addr, sizeof(addr)))
			wl_die("connect");
		a = accept(lfd, NULL, NULL);
		if (a < 0)
			wl_die("accept");
		setsockopt(c, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(c);
		close(a);
		n++;
	}
	wl_report(&w, n);
	return 0;
}
