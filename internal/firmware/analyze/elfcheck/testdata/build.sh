#!/bin/sh
# Builds the ELF hardening fixtures in bin/ from prog.c, lib.c and start.c
# with Debian's cross compilers, five variants per architecture:
#   hard    FORTIFY_SOURCE=2, stack protector, PIE, full RELRO, NX, stripped
#   weak    no canary, no PIE, no RELRO, executable stack, RPATH /tmp/lib,
#           symbols kept, imports gets()
#   server  accept()-ing server with canary, PIE, partial RELRO,
#           executable stack, RUNPATH $ORIGIN/../lib:lib, stripped
#   lib.so  shared library, full RELRO
#   static  statically linked, no C library
# Needs: gcc, gcc-mips-linux-gnu, gcc-mipsel-linux-gnu,
# gcc-arm-linux-gnueabi, gcc-aarch64-linux-gnu, gcc-powerpc-linux-gnu
# (and their libc6-dev-*-cross). The tests use the committed files; run
# this only to change them.
set -eu
cd "$(dirname "$0")"
mkdir -p bin
common="-Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,common-page-size=4096 -ffile-prefix-map=$(pwd)=. -fno-asynchronous-unwind-tables -Wl,-z,noseparate-code"
for t in x86_64-linux-gnu mips-linux-gnu mipsel-linux-gnu arm-linux-gnueabi aarch64-linux-gnu powerpc-linux-gnu; do
	cc="$t-gcc"
	if ! command -v "$cc" >/dev/null; then
		echo "skip $t: $cc not installed" >&2
		continue
	fi
	a="${t%%-*}"
	[ "$t" = arm-linux-gnueabi ] && a=armel
	# shellcheck disable=SC2086
	{
		$cc $common -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie \
			-Wl,-z,relro,-z,now,-z,noexecstack -s -o "bin/$a-hard" prog.c
		$cc $common -O0 -DGETS -fno-stack-protector -fno-pie -no-pie \
			-Wl,-z,norelro,-z,execstack -Wl,--disable-new-dtags,-rpath,/tmp/lib -o "bin/$a-weak" prog.c 2>/dev/null
		$cc $common -O2 -DSERVER -fstack-protector -fPIE -pie -Wl,-z,relro,-z,lazy,-z,execstack \
			-Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib:lib' -s -o "bin/$a-server" prog.c
		$cc $common -O2 -fPIC -shared -fstack-protector-strong -Wl,-z,relro,-z,now -s -o "bin/$a-lib.so" lib.c
		$cc $common -Os -static -nostdlib -nostartfiles -Wl,-e,_start -fno-stack-protector -fno-pie -no-pie -s -o "bin/$a-static" start.c
	}
done
ls -l bin
