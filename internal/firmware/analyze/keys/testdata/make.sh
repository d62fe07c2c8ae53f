#!/usr/bin/env bash
# Regenerates the key fixtures of the keys analyser's tests.
# Needs: dropbear-bin (dropbearkey), openssh-client (ssh-keygen),
# putty-tools (puttygen), openssl. Every key here is a throw-away test key.
set -euo pipefail
cd "$(dirname "$0")"
rm -f dropbear_* openssh_* putty_* pem_* cert_* der_*

dropbearkey -t rsa -s 1024 -f dropbear_rsa >/dev/null
dropbearkey -t ecdsa -s 256 -f dropbear_ecdsa >/dev/null
dropbearkey -t ecdsa -s 521 -f dropbear_ecdsa521 >/dev/null
dropbearkey -t ed25519 -f dropbear_ed25519 >/dev/null
dropbearkey -t dss -f dropbear_dss >/dev/null 2>&1 || true
for k in dropbear_*; do
  dropbearkey -y -f "$k" | grep -E '^(ssh|ecdsa)-' > "$k.pub"
done

ssh-keygen -q -t ed25519 -N '' -C 'host@demo' -f openssh_ed25519
ssh-keygen -q -t rsa -b 2048 -N 'secret-pass' -C 'enc@demo' -f openssh_rsa_enc
ssh-keygen -q -t ecdsa -b 384 -N '' -C 'pem@demo' -m PEM -f openssh_ecdsa_pem

puttygen -q -t rsa -b 1024 -C 'putty@demo' -O private -o putty_rsa.ppk --new-passphrase /dev/null
printf 'pw\n' > /tmp/ppk-pass.$$
puttygen -q -t ed25519 -C 'putty-enc@demo' -O private -o putty_ed25519_enc.ppk --new-passphrase /tmp/ppk-pass.$$
rm -f /tmp/ppk-pass.$$
for k in putty_*.ppk; do
  puttygen "$k" -O public-openssh -o "$k.pub" --old-passphrase <(printf 'pw\n') 2>/dev/null ||
    puttygen "$k" -O public-openssh -o "$k.pub"
done

openssl genrsa -traditional -out pem_rsa1024_pkcs1.key 1024 2>/dev/null
openssl genpkey -algorithm ed25519 -out pem_ed25519_pkcs8.key
openssl genpkey -algorithm x25519 -out pem_x25519_pkcs8.key
openssl ecparam -name prime256v1 -genkey -noout -out pem_ec_sec1.key
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out /tmp/dsap.$$ 2>/dev/null
openssl genpkey -paramfile /tmp/dsap.$$ -out pem_dsa_pkcs8.key
rm -f /tmp/dsap.$$
openssl dsa -in pem_dsa_pkcs8.key -out pem_dsa.key 2>/dev/null
openssl pkcs8 -topk8 -in pem_ec_sec1.key -v2 aes-256-cbc -passout pass:pw -out pem_ec_pkcs8_enc.key
openssl rsa -in pem_rsa1024_pkcs1.key -traditional -aes128 -passout pass:pw -out pem_rsa_legacy_enc.key 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in pem_rsa1024_pkcs1.key -out pem_rsa1024_pkcs8.key
openssl pkcs8 -topk8 -nocrypt -in pem_rsa1024_pkcs1.key -outform DER -out der_rsa1024_pkcs8.der
for k in pem_rsa1024_pkcs1.key pem_rsa1024_pkcs8.key pem_ed25519_pkcs8.key pem_ec_sec1.key; do
  ssh-keygen -y -f "$k" > "$k.pub" 2>/dev/null || true
  openssl pkey -in "$k" -pubout -outform DER | sha256sum | cut -d' ' -f1 > "$k.spki"
done

# Certificates signed with SHA-1 and MD5 by a throw-away CA.
openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/ca.$$ -subj '/CN=Test CA' -days 36500 -out cert_ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout /tmp/leaf.$$ -subj '/CN=sha1.example' -out /tmp/leaf.csr.$$ 2>/dev/null
openssl x509 -req -in /tmp/leaf.csr.$$ -CA cert_ca.pem -CAkey /tmp/ca.$$ -set_serial 2 -days 36500 -sha1 -out cert_sha1.pem 2>/dev/null
openssl x509 -req -in /tmp/leaf.csr.$$ -CA cert_ca.pem -CAkey /tmp/ca.$$ -set_serial 3 -days 36500 -md5 -out cert_md5.pem 2>/dev/null ||
  openssl x509 -req -in /tmp/leaf.csr.$$ -CA cert_ca.pem -CAkey /tmp/ca.$$ -set_serial 3 -days 36500 -md5 -out cert_md5.pem -provider default -provider legacy
openssl x509 -in cert_sha1.pem -outform DER -out cert_sha1.der
rm -f /tmp/ca.$$ /tmp/leaf.$$ /tmp/leaf.csr.$$
ls -l
