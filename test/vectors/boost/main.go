// Command boost-vectors writes golden CBOR vectors for boost's deal protocols into a directory
// (test/fixtures/boost): vectors.json (hex bytes plus the decoded values in dealyard's plain JSON
// form) and the Lotus key files that signed them. Everything is derived from fixed seeds, so a
// re-run reproduces the files byte for byte.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dealyard/dealyard/test/vectors/boost/wire"
	"github.com/filecoin-project/go-address"
	cborutil "github.com/filecoin-project/go-cbor-util"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v9/market"
	fcrypto "github.com/filecoin-project/go-state-types/crypto"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	cbg "github.com/whyrusleeping/cbor-gen"
)

type vector struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Hex   string `json:"hex"`
	Value any    `json:"value"`
	// Extra facts computed by upstream code about the value (CIDs, signed bytes, signer).
	Facts map[string]any `json:"facts,omitempty"`
}

type obj = map[string]any

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: boost-vectors <out-dir>")
		os.Exit(2)
	}
	out := os.Args[1]
	must(os.MkdirAll(filepath.Join(out, "keys"), 0o755))

	secpClient := secpKey("dealyard golden vectors: secp256k1 client")
	blsClient := blsKey("dealyard golden vectors: bls client")
	worker := secpKey("dealyard golden vectors: secp256k1 worker")
	blsWorker := blsKey("dealyard golden vectors: bls worker")
	keys := obj{}
	for name, k := range map[string]key{"secp-client": secpClient, "bls-client": blsClient, "secp-worker": worker, "bls-worker": blsWorker} {
		must(os.WriteFile(filepath.Join(out, "keys", name+".key"), []byte(k.keyFile()+"\n"), 0o644))
		keys[name] = obj{"type": k.typ, "address": k.addr.String(), "file": "keys/" + name + ".key"}
	}

	provider := idAddr(1000)
	var vs []vector
	add := func(name, typ string, m cbg.CBORMarshaler, value any, facts map[string]any) {
		var buf bytes.Buffer
		must(m.MarshalCBOR(&buf))
		vs = append(vs, vector{Name: name, Type: typ, Hex: hex.EncodeToString(buf.Bytes()), Value: value, Facts: facts})
	}

	// Deal proposals: one per signer kind, label kind and deal shape.
	pOnline := market.DealProposal{
		PieceCID: commP("online piece"), PieceSize: 32 << 30, VerifiedDeal: false,
		Client: secpClient.addr, Provider: provider, Label: strLabel("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
		StartEpoch: 4_200_000, EndEpoch: 4_200_000 + 1_555_200,
		StoragePricePerEpoch: big.NewInt(62_500_000), ProviderCollateral: tokens("98765432109876543"), ClientCollateral: big.Zero(),
	}
	pOffline := market.DealProposal{
		PieceCID: commP("offline piece"), PieceSize: 2048, VerifiedDeal: true,
		Client: blsClient.addr, Provider: provider, Label: bytesLabel([]byte{0x00, 0xff, 0x10, 0x80, 0xc3, 0x28}),
		StartEpoch: 4_210_000, EndEpoch: 4_210_000 + 3_680_640,
		StoragePricePerEpoch: big.Zero(), ProviderCollateral: tokens("1000000000000000000"), ClientCollateral: big.Zero(),
	}
	pLegacy := market.DealProposal{
		PieceCID: commP("legacy piece"), PieceSize: 1 << 20, VerifiedDeal: false,
		Client: idAddr(1234567), Provider: provider, Label: strLabel(""),
		StartEpoch: 4_300_000, EndEpoch: 4_300_000 + 518_400,
		StoragePricePerEpoch: tokens("340282366920938463463374607431768211457"), ProviderCollateral: big.Zero(), ClientCollateral: tokens("5"),
	}
	f4Client, err := address.NewDelegatedAddress(10, mustHex("d8da6bf26964af9d7eed9e03e53415d37aa96045"))
	must(err)
	pF4 := market.DealProposal{
		PieceCID: commP("contract piece"), PieceSize: 8 << 20, VerifiedDeal: false,
		Client: f4Client, Provider: provider, Label: strLabel("mAXCg5AIg8p+qDMeI4XwmDPQ3rTj0EyMtuGvUd/ptZZ0iv3PFlOQ"),
		StartEpoch: 4_400_000, EndEpoch: 4_400_000 + 600_000,
		StoragePricePerEpoch: big.NewInt(1), ProviderCollateral: big.Zero(), ClientCollateral: big.Zero(),
	}

	cdpOnline := signProposal(pOnline, secpClient)
	cdpOffline := signProposal(pOffline, blsClient)
	// An ID-address client is signed by the key the chain resolves it to (the secp client here).
	cdpLegacy := signProposal(pLegacy, secpClient)
	// Contract clients sign with a delegated (type 3) signature that only the chain can check.
	cdpF4 := market.ClientDealProposal{Proposal: pF4, ClientSignature: fcrypto.Signature{Type: fcrypto.SigTypeDelegated, Data: bytes.Repeat([]byte{0x5a}, 65)}}

	for _, c := range []struct {
		name   string
		cdp    market.ClientDealProposal
		signer key
		verify bool
	}{
		{"secp-string-label", cdpOnline, secpClient, true},
		{"bls-bytes-label", cdpOffline, blsClient, true},
		{"id-client-empty-label", cdpLegacy, secpClient, true},
		{"f4-client-delegated", cdpF4, key{}, false},
	} {
		p := c.cdp.Proposal
		add("deal-proposal/"+c.name, "DealProposal", &p, plainProposal(p), proposalFacts(c.cdp, c.signer, c.verify))
		cdp := c.cdp
		add("client-deal-proposal/"+c.name, "ClientDealProposal", &cdp, plainCDP(cdp), proposalFacts(c.cdp, c.signer, c.verify))
	}

	httpParams := []byte(`{"URL":"https://data.example.org/deals/baga6ea4seaq.car","Headers":{"Authorization":"Bearer 5f0c4b1e"}}`)
	online := wire.DealParams{
		DealUUID: uuid.MustParse("9f5c0a3e-6b1d-4e2f-8a7b-0c1d2e3f4a5b"), IsOffline: false, ClientDealProposal: cdpOnline,
		DealDataRoot: rootCid("online payload"),
		Transfer:     wire.Transfer{Type: "http", ClientID: "singularity-prep-42", Params: httpParams, Size: 31_876_543_210},
		SkipIPNIAnnounce: true, RemoveUnsealedCopy: false,
	}
	add("deal-params/online-http-secp", "DealParams", &online, plainDealParams(online), nil)
	offline := wire.DealParams{
		DealUUID: uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff"), IsOffline: true, ClientDealProposal: cdpOffline,
		DealDataRoot: rootCid("offline payload"), Transfer: wire.Transfer{},
		SkipIPNIAnnounce: false, RemoveUnsealedCopy: true,
	}
	add("deal-params/offline-bls", "DealParams", &offline, plainDealParams(offline), nil)
	libp2pParams := []byte(`{"URL":"libp2p:///ip4/203.0.113.7/tcp/24001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf","Headers":null}`)
	legacy := wire.DealParamsV120{
		DealUUID: uuid.MustParse("c0ffee00-1234-4abc-9def-000000000001"), IsOffline: false, ClientDealProposal: cdpLegacy,
		DealDataRoot: rootCid("legacy payload"),
		Transfer:     wire.Transfer{Type: "libp2p", Params: libp2pParams, Size: 1_000_000},
	}
	add("deal-params-v120/online-libp2p-id-client", "DealParamsV120", &legacy, plainDealParams(wire.DealParams{
		DealUUID: legacy.DealUUID, IsOffline: legacy.IsOffline, ClientDealProposal: legacy.ClientDealProposal,
		DealDataRoot: legacy.DealDataRoot, Transfer: legacy.Transfer,
	}), nil)
	f4 := wire.DealParams{
		DealUUID: uuid.MustParse("f4f4f4f4-0000-4000-8000-000000000004"), IsOffline: true, ClientDealProposal: cdpF4,
		DealDataRoot: rootCid("contract payload"), Transfer: wire.Transfer{ClientID: "ddo-contract"},
	}
	add("deal-params/offline-f4-client", "DealParams", &f4, plainDealParams(f4), nil)

	for _, r := range []wire.DealResponse{
		{Accepted: true},
		{Accepted: false, Message: "failed validation: server error: validating signature"},
		{Accepted: false, Message: "deal has the same uuid as deal 9f5c0a3e-6b1d-4e2f-8a7b-0c1d2e3f4a5b (proposed at 2026-07-01 10:00:00 +0000 UTC)"},
	} {
		r := r
		name := "accepted"
		if !r.Accepted {
			name = fmt.Sprintf("rejected-%d", len(r.Message))
		}
		add("deal-response/"+name, "DealResponse", &r, obj{"accepted": r.Accepted, "message": r.Message}, nil)
	}

	for _, c := range []struct {
		name string
		id   uuid.UUID
		k    key
	}{{"secp", online.DealUUID, secpClient}, {"bls", offline.DealUUID, blsClient}} {
		msg, err := c.id.MarshalBinary()
		must(err)
		req := wire.DealStatusRequest{DealUUID: c.id, Signature: c.k.sign(msg)}
		add("deal-status-request/"+c.name, "DealStatusRequest", &req, obj{"dealUuid": c.id.String(), "signature": plainSig(req.Signature)},
			obj{"signer": c.k.addr.String(), "signedHex": hex.EncodeToString(msg), "verifies": true})
	}

	publish := rootCid("publish message")
	publish = cid.NewCidV1(cid.DagCBOR, publish.Hash())
	spc := signedProposalCid(cdpOnline)
	statuses := []struct {
		name string
		r    wire.DealStatusResponse
	}{
		{"transferring-nil-publish-cid", wire.DealStatusResponse{DealUUID: online.DealUUID, IsOffline: false, TransferSize: 31_876_543_210, NBytesReceived: 12_345_678_901,
			DealStatus: &wire.DealStatus{Status: "Accepted", Proposal: pOnline, SignedProposalCid: spc}}},
		{"sealing-published", wire.DealStatusResponse{DealUUID: online.DealUUID, TransferSize: 31_876_543_210,
			DealStatus: &wire.DealStatus{Status: "AddedPiece", SealingStatus: "PreCommit1", Proposal: pOnline, SignedProposalCid: spc, PublishCid: &publish, ChainDealID: 98_765_432}}},
		{"failed-offline", wire.DealStatusResponse{DealUUID: offline.DealUUID, IsOffline: true,
			DealStatus: &wire.DealStatus{Status: "Complete", Error: "commp mismatch: expected baga6ea4seaq…, got baga6ea4seaqz…", Proposal: pOffline, SignedProposalCid: signedProposalCid(cdpOffline)}}},
		{"error-bad-signature", wire.DealStatusResponse{DealUUID: uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff"), Error: "signature verification failed"}},
	}
	for _, s := range statuses {
		s := s
		add("deal-status-response/"+s.name, "DealStatusResponse", &s.r, plainStatusResponse(s.r), nil)
	}

	ask := wire.StorageAsk{
		Price: big.NewInt(50_000_000), VerifiedPrice: big.NewInt(5_000_000), MinPieceSize: 256, MaxPieceSize: 32 << 30,
		Miner: provider, Timestamp: 4_199_000, Expiry: 4_199_000 + 1_000_000, SeqNo: 7,
	}
	askBytes, err := cborutil.Dump(&ask)
	must(err)
	add("storage-ask/default", "StorageAsk", &ask, plainAsk(ask), nil)
	for _, w := range []struct {
		name string
		k    key
	}{{"secp-worker", worker}, {"bls-worker", blsWorker}} {
		sig := w.k.sign(askBytes)
		resp := wire.AskResponse{Ask: &wire.SignedStorageAsk{Ask: &ask, Signature: &sig}}
		add("ask-response/signed-"+w.name, "AskResponse", &resp, obj{"ask": obj{"ask": plainAsk(ask), "signature": plainSig(sig)}},
			obj{"signer": w.k.addr.String(), "signedHex": hex.EncodeToString(askBytes), "verifies": true})
	}
	add("ask-response/nil", "AskResponse", &wire.AskResponse{}, obj{"ask": nil}, nil)
	add("ask-request/f01000", "AskRequest", &wire.AskRequest{Miner: provider}, obj{"miner": provider.String()}, nil)
	add("ask-request/f3-miner", "AskRequest", &wire.AskRequest{Miner: blsClient.addr}, obj{"miner": blsClient.addr.String()}, nil)

	vs = append(vs, transportsVectors()...)

	doc := obj{
		"generator": "test/vectors/boost (go-state-types v0.18.0, go-address v1.2.0, cbor-gen v0.3.2-0.20250409092040-76796969edea, go-ipld-prime v0.23.0)",
		"keys":      keys,
		"vectors":   vs,
	}
	j, err := json.MarshalIndent(doc, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(out, "vectors.json"), append(j, '\n'), 0o644))
}

func signProposal(p market.DealProposal, k key) market.ClientDealProposal {
	b, err := cborutil.Dump(&p)
	must(err)
	return market.ClientDealProposal{Proposal: p, ClientSignature: k.sign(b)}
}

// signedProposalCid is boost's ProviderDealState.SignedProposalCid: cborutil.AsIpld(&proposal).Cid().
func signedProposalCid(cdp market.ClientDealProposal) cid.Cid {
	nd, err := cborutil.AsIpld(&cdp)
	must(err)
	return nd.Cid()
}

func proposalFacts(cdp market.ClientDealProposal, signer key, verify bool) map[string]any {
	p := cdp.Proposal
	pc, err := p.Cid()
	must(err)
	signed, err := cborutil.Dump(&p)
	must(err)
	f := obj{"proposalCid": pc.String(), "signedProposalCid": signedProposalCid(cdp).String(), "signedHex": hex.EncodeToString(signed), "verifies": verify}
	if verify {
		f["signer"] = signer.addr.String()
	}
	return f
}

func idAddr(id uint64) address.Address {
	a, err := address.NewIDAddress(id)
	must(err)
	return a
}

// commP makes a piece CID with the CommP prefix (fil-commitment-unsealed, sha2-256-trunc254-padded).
func commP(seed string) cid.Cid {
	d := sha256Of(seed)
	d[31] &= 0x3f
	mh, err := multihash.Encode(d, multihash.SHA2_256_TRUNC254_PADDED)
	must(err)
	return cid.NewCidV1(cid.FilCommitmentUnsealed, mh)
}

func rootCid(seed string) cid.Cid {
	mh, err := multihash.Sum([]byte(seed), multihash.SHA2_256, -1)
	must(err)
	return cid.NewCidV1(cid.DagProtobuf, mh)
}

func strLabel(s string) market.DealLabel {
	l, err := market.NewLabelFromString(s)
	must(err)
	return l
}

func bytesLabel(b []byte) market.DealLabel {
	l, err := market.NewLabelFromBytes(b)
	must(err)
	return l
}

func tokens(s string) abi.TokenAmount {
	v, err := big.FromString(s)
	must(err)
	return v
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	must(err)
	return b
}
