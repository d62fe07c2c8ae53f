/* Shared library for the ELF hardening fixtures. */
#include <stdio.h>
#include <string.h>

int greet(const char *who, char *out, size_t n)
{
	char tmp[32];
	strcpy(tmp, who);
	return snprintf(out, n, "hello %s", tmp);
}
