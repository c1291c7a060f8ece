/*
 * Preloaded into DynamoDB Local's JVM (LD_PRELOAD), this keeps every socket
 * it listens on to this machine: DynamoDB Local has no option to choose the
 * address it binds, binds every interface, and accepts any credentials, so
 * without this anyone who can reach the machine could read and rewrite the
 * tables. A bind to the wildcard address becomes a bind to loopback. The
 * JVM is started with -Djava.net.preferIPv4Stack=true, so its sockets are
 * IPv4; an IPv6 wildcard becomes ::1, which fails closed (the endpoint
 * 127.0.0.1 then does not answer) rather than open.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
	static bind_fn real;
	if (!real) {
		real = (bind_fn)dlsym(RTLD_NEXT, "bind");
	}
	if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, addr, sizeof in);
		if (in.sin_addr.s_addr == htonl(INADDR_ANY)) {
			in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			return real(fd, (const struct sockaddr *)&in, sizeof in);
		}
	}
	if (addr && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in6;
		memcpy(&in6, addr, sizeof in6);
		if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) {
			in6.sin6_addr = in6addr_loopback;
			return real(fd, (const struct sockaddr *)&in6, sizeof in6);
		}
	}
	return real(fd, addr, len);
}
