#!/bin/sh
# Regenerates the FIT fixtures with dtc and mkimage (u-boot-tools).
set -eu
cd "$(dirname "$0")"
export SOURCE_DATE_EPOCH=1700000000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'kernel image %s\n' $(seq 1 300) | gzip -n -9 > "$tmp/kernel.gz"
printf 'ramdisk %s\n' $(seq 1 100) > "$tmp/ramdisk.cpio"
cat > "$tmp/board.dts" <<'DTS'
/dts-v1/;
/ { compatible = "netvet,test"; model = "netvet test board"; #address-cells = <1>; #size-cells = <1>;
    memory@80000000 { device_type = "memory"; reg = <0x80000000 0x4000000>; }; };
DTS
dtc -I dts -O dtb -o "$tmp/board.dtb" "$tmp/board.dts"
cat > "$tmp/image.its" <<ITS
/dts-v1/;
/ {
	description = "netvet FIT fixture";
	#address-cells = <1>;
	images {
		kernel-1 {
			description = "Linux kernel";
			data = /incbin/("$tmp/kernel.gz");
			type = "kernel";
			arch = "arm";
			os = "linux";
			compression = "gzip";
			load = <0x80008000>;
			entry = <0x80008000>;
			hash-1 { algo = "crc32"; };
			hash-2 { algo = "sha1"; };
		};
		fdt-1 {
			description = "board dtb";
			data = /incbin/("$tmp/board.dtb");
			type = "flat_dt";
			arch = "arm";
			compression = "none";
			hash-1 { algo = "sha256"; };
		};
		ramdisk-1 {
			data = /incbin/("$tmp/ramdisk.cpio");
			type = "ramdisk";
			arch = "arm";
			os = "linux";
			compression = "none";
			hash-1 { algo = "md5"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 { kernel = "kernel-1"; fdt = "fdt-1"; ramdisk = "ramdisk-1"; };
	};
};
ITS
mkimage -f "$tmp/image.its" embedded.itb >/dev/null
mkimage -E -f "$tmp/image.its" external.itb >/dev/null
mkimage -E -p 0x1000 -f "$tmp/image.its" position.itb >/dev/null
cp "$tmp/board.dtb" plain.dtb
cp "$tmp/kernel.gz" kernel-1.gz.expected
cp "$tmp/board.dtb" fdt-1.dtb.expected
cp "$tmp/ramdisk.cpio" ramdisk-1.expected
