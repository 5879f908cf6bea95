package main

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/filecoin-project/go-address"
	gocrypto "github.com/filecoin-project/go-crypto"
	fcrypto "github.com/filecoin-project/go-state-types/crypto"
	"gitlab.com/yawning/secp256k1-voi/secec"
	"golang.org/x/crypto/blake2b"
)

// blsDST is the hash-to-curve domain Filecoin's BLS signatures use (bls-signatures crate, min-pk,
// basic scheme): messages are hashed to G2, public keys live in G1.
const blsDST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"

type key struct {
	typ     string // "secp256k1" | "bls": the Type field of a Lotus key file
	private []byte // as Lotus stores it: secp big-endian, BLS little-endian
	addr    address.Address
	secp    *secec.PrivateKey
	blsSk   *big.Int
}

// secpKey derives a deterministic key from a seed phrase so re-running the program reproduces the
// fixtures byte for byte.
func secpKey(seed string) key {
	d := sha256.Sum256([]byte(seed))
	sk, err := secec.NewPrivateKey(d[:])
	must(err)
	pub := gocrypto.PublicKey(d[:])
	a, err := address.NewSecp256k1Address(pub)
	must(err)
	return key{typ: "secp256k1", private: d[:], addr: a, secp: sk}
}

func blsKey(seed string) key {
	d := sha256.Sum256([]byte(seed))
	var e fr.Element
	e.SetBytes(d[:]) // reduces mod r
	sk := new(big.Int)
	e.BigInt(sk)
	be := e.Bytes()
	le := make([]byte, 32)
	for i := range be {
		le[i] = be[31-i]
	}
	_, _, g1, _ := bls.Generators()
	var pk bls.G1Affine
	pk.ScalarMultiplication(&g1, sk)
	pkb := pk.Bytes()
	a, err := address.NewBLSAddress(pkb[:])
	must(err)
	return key{typ: "bls", private: le, addr: a, blsSk: sk}
}

// sign signs as Lotus's lib/sigs does: secp256k1 over blake2b-256 of the message (65-byte R|S|V,
// deterministic RFC 6979 nonce here so the output is reproducible), BLS over the message itself.
func (k key) sign(msg []byte) fcrypto.Signature {
	if k.typ == "secp256k1" {
		h := blake2b.Sum256(msg)
		sig, err := k.secp.Sign(secec.RFC6979SHA256(), h[:], &secec.ECDSAOptions{Encoding: secec.EncodingCompactRecoverable, RejectMalleable: true, Hash: crypto.SHA256})
		must(err)
		// Check with the library Lotus itself verifies with.
		pub, err := gocrypto.EcRecover(h[:], sig)
		must(err)
		a, err := address.NewSecp256k1Address(pub)
		must(err)
		if a != k.addr {
			panic("secp256k1 signature does not recover to the signer")
		}
		return fcrypto.Signature{Type: fcrypto.SigTypeSecp256k1, Data: sig}
	}
	h, err := bls.HashToG2(msg, []byte(blsDST))
	must(err)
	var s bls.G2Affine
	s.ScalarMultiplication(&h, k.blsSk)
	// Pairing check e(pk, H(m)) == e(g1, sig) before the signature is written anywhere.
	_, _, g1, _ := bls.Generators()
	var pk bls.G1Affine
	_, err = pk.SetBytes(k.addr.Payload())
	must(err)
	var negG1 bls.G1Affine
	negG1.Neg(&g1)
	ok, err := bls.PairingCheck([]bls.G1Affine{pk, negG1}, []bls.G2Affine{h, s})
	must(err)
	if !ok {
		panic("bls signature does not verify")
	}
	sb := s.Bytes()
	return fcrypto.Signature{Type: fcrypto.SigTypeBLS, Data: sb[:]}
}

// keyFile is the `lotus wallet export` form: hex of the JSON KeyInfo.
func (k key) keyFile() string {
	j, err := json.Marshal(map[string]string{"Type": k.typ, "PrivateKey": base64.StdEncoding.EncodeToString(k.private)})
	must(err)
	return hex.EncodeToString(j)
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("%+v", err))
	}
}
