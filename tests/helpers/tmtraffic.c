// SPDX-License-Identifier: GPL-2.0
/*
 * tmtraffic: exact, known traffic for tm's tests. Each mode makes a fixed
 * number of packets or bytes and says what it did, so a test can compare
 * tm's counters with what was really sent.
 *
 *   udp-recv ADDR PORTFILE N        bind ADDR:0, write the port to PORTFILE,
 *                                   receive N datagrams (10 s at most)
 *   udp-send ADDR PORT N SIZE [US]  send N datagrams of SIZE payload bytes,
 *                                   US microseconds apart; print the local port.
 *                                   With TM_DSTOPTS set (IPv6, needs
 *                                   CAP_NET_RAW), each carries an 8-byte
 *                                   Destination Options header
 *   udp-drain ADDR PORTFILE         bind, publish the port, read until ended
 *   udp-rate ADDR PORT PPS SEC SIZE send PPS datagrams a second for SEC
 *                                   seconds, paced every millisecond; print
 *                                   how many were sent
 *   tcp-sink ADDR PORTFILE [GOFILE] accept one connection, read to EOF, print
 *                                   the bytes read; with GOFILE, read only
 *                                   once GOFILE exists (30 s at most)
 *   tcp-send ADDR PORT BYTES        send BYTES, half-close, wait for the peer
 *                                   to close, print tcpi_segs_out
 *   tcp-blast ADDR PORT BYTES       send BYTES and close at once, with data
 *                                   still queued: print how much was queued
 *   tcp-fill ADDR PORT              write until the peer's window and our
 *                                   buffer are full, close with all that
 *                                   still queued; print "WRITTEN QUEUED"
 *   tcp-ignore ADDR PORTFILE MS     listen, accept nothing, close after MS
 *                                   milliseconds
 *   udp-script ADDR                 one socket, kept open: for each line
 *                                   "PORT N SIZE" on stdin, send N datagrams
 *                                   of SIZE to ADDR:PORT and print "sent";
 *                                   close at end of input
 *   udp-jobs ADDR PORT DIR FIRST N SIZE UID
 *                                   (as root) N jobs one after the other,
 *                                   each a cgroup DIR/job_I (I from FIRST)
 *                                   made, a process of UID in it sending one
 *                                   datagram of SIZE + I % 100 bytes, the
 *                                   cgroup removed; print N
 *   udp-procs ADDR PORT N SIZE      N processes, one after the other, each
 *                                   sending one datagram of SIZE bytes; print N
 *   raw-ping ADDR N ID [US [DIR]]   over a raw ICMP (ICMPv6) socket, filtered
 *                                   to echo replies as ping filters it, send N
 *                                   echo requests with identifier ID and 56
 *                                   bytes of data, US microseconds apart;
 *                                   print how many replies with ID came back.
 *                                   With DIR: make DIR/ID.open once the socket
 *                                   is, wait for DIR/go, make DIR/ID.done
 *                                   when done, and close only at DIR/end
 *
 *   udp-peers ADDR N PAIRS SIZE     a server's unconnected socket and N peers'
 *                                   sockets: PAIRS times, the next peer (round
 *                                   robin) sends SIZE bytes to the server and
 *                                   the server answers it the same; print PAIRS
 *   udp-threads ADDR PORT N SIZE    one socket, written from a thread on each
 *                                   CPU at once: N datagrams of SIZE in all;
 *                                   print N
 *
 * With TM_COMM set, the process takes that name (its comm) first. With
 * TM_WAIT=DIR, udp-send, tcp-send and tcp-blast make their socket, send
 * one datagram (udp-send) or connect (the others), make DIR/open and wait
 * for DIR/go (30 s at most) before the rest: a socket older than what is
 * loaded meanwhile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* glibc's tcp_info lacks tcpi_segs_out */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "tmtraffic: %s: %s\n", what, strerror(errno));
	exit(1);
}

static socklen_t make_addr(const char *host, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof(*in6);
	}
	fprintf(stderr, "tmtraffic: '%s': not an address\n", host);
	exit(2);
}

static void mark(const char *dir, const char *fmt, int id);
static void await(const char *dir, const char *name);

/* TM_WAIT=DIR: the socket made, DIR/open; then DIR/go waited for. */
static void hold(void)
{
	const char *dir = getenv("TM_WAIT");

	if (dir) {
		mark(dir, "open", 0);
		await(dir, "go");
	}
}

/* Bind to ADDR:0 and publish the port by renaming a complete file into place. */
static int bound_socket(const char *host, int type, const char *portfile)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, 0, &ss);
	char tmp[4096];
	int fd, port;
	FILE *f;

	fd = socket(ss.ss_family, type, 0);
	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 8))
		die("listen");
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, portfile))
		die(portfile);
	return fd;
}

static int udp_recv(const char *host, const char *portfile, long n)
{
	int fd = bound_socket(host, SOCK_DGRAM, portfile);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[65536];
	long got = 0;

	while (got < n) {
		if (poll(&p, 1, 10000) != 1)
			break;
		if (recv(fd, buf, sizeof(buf), 0) >= 0)
			got++;
	}
	printf("%ld\n", got);
	return got == n ? 0 : 1;
}

static int udp_drain(const char *host, const char *portfile)
{
	int fd = bound_socket(host, SOCK_DGRAM, portfile);
	char buf[65536];

	for (;;)
		recv(fd, buf, sizeof(buf), 0);
	return 0;
}

static int udp_send(const char *host, int port, long n, long size, long gap_us)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	char *buf = calloc(1, size + 1);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	long i;

	if (fd < 0 || !buf)
		die("socket");
	if (getenv("TM_DSTOPTS")) {
		/* next header, length 0 (8 bytes), then a PadN option of 4 */
		unsigned char opts[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, opts, sizeof(opts)))
			die("IPV6_DSTOPTS");
	}
	for (i = 0; i < n; i++) {
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&ss, len) != size)
			die("sendto");
		if (!i)
			hold();
		if (gap_us)
			usleep(gap_us);
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	printf("%d\n", ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						     : ((struct sockaddr_in6 *)&ss)->sin6_port));
	free(buf);
	return 0;
}

static int udp_script(const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, 0, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	long port, n, size, i;
	char buf[65536] = "";

	if (fd < 0)
		die("socket");
	while (scanf("%ld %ld %ld", &port, &n, &size) == 3) {
		if (size < 0 || size > (long)sizeof(buf))
			die("size");
		len = make_addr(host, port, &ss);
		for (i = 0; i < n; i++)
			if (sendto(fd, buf, size, 0, (struct sockaddr *)&ss, len) != size)
				die("sendto");
		printf("sent\n");
		fflush(stdout);
	}
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int udp_rate(const char *host, int port, long pps, long sec, long size)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	char *buf = calloc(1, size + 1);
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	long long start = now_ns(), sent = 0, tick;

	if (fd < 0 || !buf)
		die("socket");
	for (tick = 1; tick <= sec * 1000; tick++) {
		long long due = pps * tick / 1000;
		struct timespec at;

		while (sent < due) {
			if (sendto(fd, buf, size, 0, (struct sockaddr *)&ss, len) == size)
				sent++;
			else if (errno != ENOBUFS && errno != EAGAIN)
				die("sendto");
		}
		at.tv_sec = (start + tick * 1000000LL) / 1000000000LL;
		at.tv_nsec = (start + tick * 1000000LL) % 1000000000LL;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	}
	printf("%lld\n", sent);
	return 0;
}

static int tcp_sink(const char *host, const char *portfile, const char *gofile)
{
	int lfd = bound_socket(host, SOCK_STREAM, portfile);
	char buf[65536];
	long long total = 0;
	ssize_t r;
	int fd, i;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	for (i = 0; gofile && access(gofile, F_OK) && i < 3000; i++)
		usleep(10000);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		total += r;
	if (r < 0)
		die("read");
	close(fd);
	close(lfd);
	printf("%lld\n", total);
	return 0;
}

static int tcp_ignore(const char *host, const char *portfile, long ms)
{
	int lfd = bound_socket(host, SOCK_STREAM, portfile);

	usleep(ms * 1000);
	close(lfd);
	return 0;
}

static int tcp_blast(const char *host, int port, long long bytes)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	static char buf[65536];
	int fd = socket(ss.ss_family, SOCK_STREAM, 0), queued = 0;
	ssize_t w;

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		die("connect");
	hold();
	while (bytes > 0) {
		w = write(fd, buf, bytes < (long long)sizeof(buf) ? bytes : (long long)sizeof(buf));
		if (w < 0)
			die("write");
		bytes -= w;
	}
	if (ioctl(fd, SIOCOUTQ, &queued))
		die("SIOCOUTQ");
	close(fd);
	printf("%d\n", queued);
	return 0;
}

/*
 * The peer reads nothing yet: write until nothing more fits, so that data
 * is sure to be queued when the socket closes.
 */
static int tcp_fill(const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	static char buf[65536];
	int fd = socket(ss.ss_family, SOCK_STREAM, 0), queued = 0, idle = 0;
	long long written = 0;
	ssize_t w;

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		die("connect");
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		die("O_NONBLOCK");
	/* Full twice in a row, 50 ms apart: the window is shut. */
	while (idle < 2) {
		w = write(fd, buf, sizeof(buf));
		if (w > 0) {
			written += w;
			idle = 0;
		} else if (errno == EAGAIN) {
			idle++;
			usleep(50000);
		} else {
			die("write");
		}
	}
	if (ioctl(fd, SIOCOUTQ, &queued))
		die("SIOCOUTQ");
	close(fd);
	printf("%lld %d\n", written, queued);
	return 0;
}

static int tcp_send(const char *host, int port, long long bytes)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	static char buf[65536];
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		die("connect");
	hold();
	while (bytes > 0) {
		ssize_t w = write(fd, buf, bytes < (long long)sizeof(buf) ? bytes : (long long)sizeof(buf));

		if (w < 0)
			die("write");
		bytes -= w;
	}
	/*
	 * Half-close and wait for the peer's FIN: by then our last ACK has
	 * gone out too, so segs_out covers every segment this socket sends.
	 */
	if (shutdown(fd, SHUT_WR))
		die("shutdown");
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen))
		die("TCP_INFO");
	printf("%u\n", ti.tcpi_segs_out);
	close(fd);
	return 0;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum);
}

static int udp_procs(const char *host, int port, long n, long size)
{
	long i;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			die("fork");
		if (!pid) {
			if (!freopen("/dev/null", "w", stdout))
				die("/dev/null");
			udp_send(host, port, 1, size, 0);
			_exit(0);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			die("child");
	}
	printf("%ld\n", n);
	return 0;
}

static int udp_jobs(const char *host, int port, const char *dir, long first, long n, long size,
		    uid_t uid)
{
	char cg[4096], procs[4200];
	long i;
	int tries;

	for (i = first; i < first + n; i++) {
		pid_t pid;
		int st;

		snprintf(cg, sizeof(cg), "%s/job_%ld", dir, i);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
		if (mkdir(cg, 0755))
			die(cg);
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			FILE *f = fopen(procs, "w");

			if (!f || fprintf(f, "0\n") < 0 || fclose(f))
				die(procs);
			if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
				die("setuid");
			if (!freopen("/dev/null", "w", stdout))
				die("/dev/null");
			_exit(udp_send(host, port, 1, size + i % 100, 0));
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			die("child");
		/* The cgroup may stay populated a moment after its last task. */
		for (tries = 0; rmdir(cg) && errno == EBUSY && tries < 1000; tries++)
			usleep(1000);
		if (!access(cg, F_OK))
			die(cg);
	}
	printf("%ld\n", n);
	return 0;
}

/* Makes DIR/NAME (NAME printf-style). */
static void mark(const char *dir, const char *fmt, int id)
{
	char path[4096], name[64];
	int fd;

	snprintf(name, sizeof(name), fmt, id);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path);
	close(fd);
}

/* Waits for DIR/NAME (30 s at most). */
static void await(const char *dir, const char *name)
{
	char path[4096];
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (i = 0; i < 3000 && access(path, F_OK); i++)
		usleep(10000);
}

static int raw_ping(const char *host, long n, int id, long gap_us, const char *dir)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, 0, &ss);
	bool v6 = ss.ss_family == AF_INET6;
	uint8_t pkt[64], buf[2048];
	long sent, got = 0;
	int fd;

	fd = socket(ss.ss_family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		die("socket");
	if (v6) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)))
			die("ICMP6_FILTER");
	} else {
		struct icmp_filter f = { .data = ~(1u << ICMP_ECHOREPLY) };

		if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f)))
			die("ICMP_FILTER");
	}
	if (dir) {
		mark(dir, "%d.open", id);
		await(dir, "go");
	}
	for (sent = 0; sent < n; sent++) {
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		pkt[4] = id >> 8;
		pkt[5] = id;
		pkt[6] = sent >> 8;
		pkt[7] = sent;
		memset(pkt + 8, 'p', 56);
		if (!v6) {
			uint16_t c = csum(pkt, sizeof(pkt));

			memcpy(pkt + 2, &c, 2);
		}
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) != sizeof(pkt))
			die("sendto");
		if (gap_us)
			usleep(gap_us);
	}
	/* Replies with our identifier; others' are read and left. */
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		size_t off = 0;

		if (poll(&p, 1, 2000) != 1)
			break;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			die("recv");
		if (!v6)
			off = (buf[0] & 0xf) * 4;
		if ((size_t)r >= off + 8 && buf[off] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
		    (buf[off + 4] << 8 | buf[off + 5]) == id)
			got++;
	}
	printf("%ld\n", got);
	fflush(stdout);
	if (dir) {
		mark(dir, "%d.done", id);
		await(dir, "end");
	}
	close(fd);
	return 0;
}

static int udp_peers(const char *host, long n, long pairs, long size)
{
	struct sockaddr_storage ss, from;
	socklen_t len = make_addr(host, 0, &ss), flen;
	char *buf = calloc(1, size + 1);
	int *peer = calloc(n, sizeof(*peer)), srv;
	long i;

	if (!buf || !peer || n < 1)
		die("calloc");
	srv = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&ss, len) || getsockname(srv, (struct sockaddr *)&ss, &len))
		die("server");
	for (i = 0; i < n; i++) {
		peer[i] = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (peer[i] < 0)
			die("socket");
	}
	for (i = 0; i < pairs; i++) {
		int p = peer[i % n];

		if (sendto(p, buf, size, 0, (struct sockaddr *)&ss, len) != size)
			die("sendto");
		flen = sizeof(from);
		if (recvfrom(srv, buf, size, 0, (struct sockaddr *)&from, &flen) != size ||
		    sendto(srv, buf, size, 0, (struct sockaddr *)&from, flen) != size)
			die("server");
		if (recv(p, buf, size, 0) != size)
			die("recv");
	}
	printf("%ld\n", pairs);
	return 0;
}

struct writer {
	int fd, cpu;
	long n;
	size_t size;
};

static void *write_on_cpu(void *arg)
{
	struct writer *w = arg;
	char *buf = calloc(1, w->size + 1);
	cpu_set_t set;
	long i;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (!buf || sched_setaffinity(0, sizeof(set), &set))
		die("writer");
	for (i = 0; i < w->n; i++)
		if (send(w->fd, buf, w->size, 0) != (ssize_t)w->size)
			die("send");
	free(buf);
	return NULL;
}

static int udp_threads(const char *host, int port, long n, long size)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(host, port, &ss);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), i;
	struct writer *w = calloc(cpus, sizeof(*w));
	pthread_t *t = calloc(cpus, sizeof(*t));
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);

	if (!w || !t || fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		die("socket");
	for (i = 0; i < cpus; i++) {
		w[i] = (struct writer){ fd, (int)i, n / cpus + (i < n % cpus), size };
		if (pthread_create(&t[i], NULL, write_on_cpu, &w[i]))
			die("pthread_create");
	}
	for (i = 0; i < cpus; i++)
		pthread_join(t[i], NULL);
	printf("%ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *comm = getenv("TM_COMM");

	if (comm && prctl(PR_SET_NAME, comm))
		die("PR_SET_NAME");

	if (!strcmp(mode, "udp-recv") && argc == 5)
		return udp_recv(argv[2], argv[3], atol(argv[4]));
	if (!strcmp(mode, "udp-send") && (argc == 6 || argc == 7))
		return udp_send(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]),
				argc == 7 ? atol(argv[6]) : 0);
	if (!strcmp(mode, "udp-drain") && argc == 4)
		return udp_drain(argv[2], argv[3]);
	if (!strcmp(mode, "udp-rate") && argc == 7)
		return udp_rate(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]), atol(argv[6]));
	if (!strcmp(mode, "tcp-sink") && (argc == 4 || argc == 5))
		return tcp_sink(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (!strcmp(mode, "tcp-fill") && argc == 4)
		return tcp_fill(argv[2], atoi(argv[3]));
	if (!strcmp(mode, "tcp-send") && argc == 5)
		return tcp_send(argv[2], atoi(argv[3]), atoll(argv[4]));
	if (!strcmp(mode, "tcp-ignore") && argc == 5)
		return tcp_ignore(argv[2], argv[3], atol(argv[4]));
	if (!strcmp(mode, "tcp-blast") && argc == 5)
		return tcp_blast(argv[2], atoi(argv[3]), atoll(argv[4]));
	if (!strcmp(mode, "udp-script") && argc == 3)
		return udp_script(argv[2]);
	if (!strcmp(mode, "udp-jobs") && argc == 9)
		return udp_jobs(argv[2], atoi(argv[3]), argv[4], atol(argv[5]), atol(argv[6]),
				atol(argv[7]), (uid_t)atol(argv[8]));
	if (!strcmp(mode, "udp-procs") && argc == 6)
		return udp_procs(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	if (!strcmp(mode, "udp-peers") && argc == 6)
		return udp_peers(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]));
	if (!strcmp(mode, "udp-threads") && argc == 6)
		return udp_threads(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	if (!strcmp(mode, "raw-ping") && argc >= 5 && argc <= 7)
		return raw_ping(argv[2], atol(argv[3]), atoi(argv[4]) & 0xffff,
				argc >= 6 ? atol(argv[5]) : 0, argc == 7 ? argv[6] : NULL);
	fprintf(stderr, "usage: tmtraffic udp-recv|udp-send|udp-drain|udp-rate|tcp-sink|tcp-send|tcp-fill|tcp-blast|tcp-ignore|udp-script|udp-jobs|udp-procs|udp-peers|udp-threads|raw-ping ... (see source)\n");
	return 2;
}
