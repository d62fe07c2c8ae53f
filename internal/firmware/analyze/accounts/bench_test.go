package accounts

import "testing"

func benchHash(b *testing.B, hash string) {
	h, err := parseCryptHash(hash)
	if err != nil {
		b.Fatal(err)
	}
	pw := []byte("password")
	for b.Loop() {
		h.verify(pw)
	}
}

func BenchmarkVerifyDES(b *testing.B) { benchHash(b, "abOV.DfJmdnYw") }
func BenchmarkVerifyMD5(b *testing.B) { benchHash(b, "$1$vendor$1klMbQRFdDgIA7oWcOaOf/") }
func BenchmarkVerifySHA256(b *testing.B) {
	benchHash(b, "$5$saltstring$P.bW6F1RP1HA7OPm5SRVZIGro4q5xJxWEWq0LwuJu6.")
}
func BenchmarkVerifySHA512(b *testing.B) {
	benchHash(b, "$6$saltstring$fHceV9ICtFDKaXXFnb7RiJaYuNyEyWoJ8Ktgcrejn6JFd2OtH.E7Ezpt83F1/uVFqUvO2sik9QpwGkOkMuBTf/")
}
func BenchmarkVerifyBcrypt5(b *testing.B) {
	benchHash(b, "$2y$05$012345678901234567890uhaehoi5V2attA/fgjtrWczCAdWxEo/6")
}
