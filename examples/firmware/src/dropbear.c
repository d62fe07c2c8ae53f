/* A stand-in for the SSH server of the demo image, with its version string. */
#include <stdio.h>
static const char version[] = "Dropbear sshd v2022.83";
static const char server[] = "SSH-2.0-dropbear_2022.83";
int main(void) { puts(version); return server[0] == 0; }
