/* A stand-in for the multi-call binary of the demo image. It only carries
 * the version strings that identify the real programs. */
#include <stdio.h>
static const char banner[] = "BusyBox v1.36.1 (2026-03-01 10:00:00 UTC) multi-call binary.";
static const char applets[] = "ash\0sh\0telnetd\0nc\0udhcpc\0httpd\0";
int main(int argc, char **argv) { (void)argc; (void)argv; puts(banner); return applets[0] == 0; }
