package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// GenerateKey writes a new ed25519 key pair for signing heads: the
// private key to priv (mode 0600, PKCS #8 in PEM) and the public key to
// pub (mode 0644, PKIX in PEM). It refuses to overwrite either file.
func GenerateKey(priv, pub string) (ed25519.PublicKey, error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	skDER, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		return nil, err
	}
	pkDER, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return nil, err
	}
	if err := writeNew(priv, 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER})); err != nil {
		return nil, err
	}
	if err := writeNew(pub, 0o644, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER})); err != nil {
		os.Remove(priv)
		return nil, err
	}
	return pk, nil
}

func writeNew(path string, mode os.FileMode, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}

// ReadPrivateKey reads a private key that GenerateKey wrote.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sk, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return sk, nil
}

// ReadPublicKey reads a public key that GenerateKey wrote.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pk, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return pk, nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New(path + ": no PEM block")
	}
	if blk.Type != typ {
		return nil, fmt.Errorf("%s: holds a %s, want a %s", path, blk.Type, typ)
	}
	return blk.Bytes, nil
}
