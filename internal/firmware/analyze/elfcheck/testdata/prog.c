/* Test program for the ELF hardening fixtures: build.sh compiles it with
   and without each protection, for several architectures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef SERVER
#include <netinet/in.h>
#include <sys/socket.h>
#endif
#ifdef GETS
char *gets(char *);
#endif

int main(int argc, char **argv)
{
	char buf[64];
#ifdef GETS
	if (gets(buf) == NULL)
		return 1;
#else
	strcpy(buf, argc > 1 ? argv[1] : "id");
#endif
#ifdef SERVER
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0), c;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(2323);
	if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 1) != 0)
		return 1;
	c = accept(s, NULL, NULL);
	if (read(c, buf, sizeof buf - 1) <= 0)
		return 1;
#endif
	printf("%s\n", buf);
	return system(buf);
}
