package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the files a loopback control plane needs: one CA that signs the serving cert and client
// certs (as envtest does), a service-account signing key and a static admin token.
type pki struct {
	CAFile, ServingCert, ServingKey string
	AdminCert, AdminKey             string
	SAKey, SAPub                    string
	TokenFile, AdminToken           string
	caPEM, adminCertPEM, adminKeyPEM []byte
}

func writePEM(path, typ string, der []byte) ([]byte, error) {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	return b, os.WriteFile(path, b, 0o600)
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	return k, der, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func makePKI(dir string) (*pki, error) {
	p := &pki{
		CAFile: filepath.Join(dir, "ca.crt"), ServingCert: filepath.Join(dir, "serving.crt"),
		ServingKey: filepath.Join(dir, "serving.key"), AdminCert: filepath.Join(dir, "admin.crt"),
		AdminKey: filepath.Join(dir, "admin.key"), SAKey: filepath.Join(dir, "sa.key"),
		SAPub: filepath.Join(dir, "sa.pub"), TokenFile: filepath.Join(dir, "tokens.csv"),
	}
	now := time.Now()
	caKey, caKeyDER, err := newKey()
	if err != nil {
		return nil, err
	}
	_ = caKeyDER
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "dealyard-testplane-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	if p.caPEM, err = writePEM(p.CAFile, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	issue := func(tmpl *x509.Certificate, certPath, keyPath string) ([]byte, []byte, error) {
		k, kder, err := newKey()
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial(), now.Add(-time.Hour), now.Add(7*24*time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		c, err := writePEM(certPath, "CERTIFICATE", der)
		if err != nil {
			return nil, nil, err
		}
		kp, err := writePEM(keyPath, "EC PRIVATE KEY", kder)
		return c, kp, err
	}
	if _, _, err := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.ServingCert, p.ServingKey); err != nil {
		return nil, fmt.Errorf("serving cert: %w", err)
	}
	if p.adminCertPEM, p.adminKeyPEM, err = issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.AdminCert, p.AdminKey); err != nil {
		return nil, fmt.Errorf("admin cert: %w", err)
	}
	_, saDER, err := newKey()
	if err != nil {
		return nil, err
	}
	if _, err := writePEM(p.SAKey, "EC PRIVATE KEY", saDER); err != nil {
		return nil, err
	}
	saPriv, _ := x509.ParseECPrivateKey(saDER)
	pubDER, err := x509.MarshalPKIXPublicKey(&saPriv.PublicKey)
	if err != nil {
		return nil, err
	}
	if _, err := writePEM(p.SAPub, "PUBLIC KEY", pubDER); err != nil {
		return nil, err
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	p.AdminToken = fmt.Sprintf("%x", tok)
	line := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n", p.AdminToken)
	return p, os.WriteFile(p.TokenFile, []byte(line), 0o600)
}
