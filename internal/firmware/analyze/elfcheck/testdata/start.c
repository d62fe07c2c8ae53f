/* Static program without a C library for the ELF hardening fixtures. */
void _start(void)
{
	for (;;)
		;
}
