// Command boostclient is boost's deal client side, for interop tests against the dealyard ingress.
//
// boost's own module cannot be fetched here (the Go module proxy refuses every version but v1.7.5),
// and its storagemarket/lp2pimpl package would pull filecoin-ffi (cgo) anyway. So this program
// replicates lp2pimpl's DealClient exactly (filecoin-project/boost storagemarket/lp2pimpl/net.go):
// open a stream offering [/fil/storage/mk/1.2.1, /fil/storage/mk/1.2.0], write deadline 10 s,
// cborutil.WriteCborRPC(DealParams), read deadline 60 s, DealResponse.UnmarshalCBOR, close; status
// signs the 16 UUID bytes. The message types are boost's struct declarations run through boost's
// pinned cbor-gen (test/vectors/boost/wire), the chain types go-state-types' own, the network
// go-libp2p (TCP + noise + yamux + identify) at the version boost v2.5.2 selects.
//
// It runs one scenario and prints one JSON document of what it saw; the TS test asserts on it and
// on the StorageDeals the ingress created. With -load N it is the ingress benchmark's clients (load.go).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dealyard/dealyard/test/interop/boostclient/wire"
	"github.com/filecoin-project/go-address"
	cborutil "github.com/filecoin-project/go-cbor-util"
	gocrypto "github.com/filecoin-project/go-crypto"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v9/market"
	fcrypto "github.com/filecoin-project/go-state-types/crypto"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"golang.org/x/crypto/blake2b"
)

const (
	dealProtocolv121 = "/fil/storage/mk/1.2.1"
	dealProtocolv120 = "/fil/storage/mk/1.2.0"
	statusProtocol   = "/fil/storage/status/1.2.0"
	askProtocol      = "/fil/storage/ask/1.1.0"
	// boost lp2pimpl/net.go
	clientWriteDeadline = 10 * time.Second
	clientReadDeadline  = 60 * time.Second
)

type keyInfo struct {
	Type       string
	PrivateKey []byte
}

type wallet struct {
	sk   []byte
	addr address.Address
}

func loadKey(path string) wallet {
	raw, err := os.ReadFile(path)
	must(err)
	js, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	must(err)
	var ki keyInfo
	must(json.Unmarshal(js, &ki))
	if ki.Type != "secp256k1" {
		panic("only secp256k1 client keys are supported here")
	}
	a, err := address.NewSecp256k1Address(gocrypto.PublicKey(ki.PrivateKey))
	must(err)
	return wallet{sk: ki.PrivateKey, addr: a}
}

// sign as lotus lib/sigs/secp: blake2b-256 of the message, 65-byte recoverable signature.
func (w wallet) sign(msg []byte) fcrypto.Signature {
	h := blake2b.Sum256(msg)
	sig, err := gocrypto.Sign(w.sk, h[:])
	must(err)
	return fcrypto.Signature{Type: fcrypto.SigTypeSecp256k1, Data: sig}
}

func openStream(ctx context.Context, h host.Host, id peer.ID, protos ...protocol.ID) (network.Stream, error) {
	// markets/shared RetryStream: a few attempts with backoff.
	var err error
	for i := 0; i < 3; i++ {
		var s network.Stream
		s, err = h.NewStream(ctx, id, protos...)
		if err == nil {
			return s, nil
		}
		time.Sleep(time.Duration(100*(i+1)) * time.Millisecond)
	}
	return nil, err
}

type dealResult struct {
	DealUUID string `json:"dealUuid"`
	Protocol string `json:"protocol"`
	Accepted bool   `json:"accepted"`
	Message  string `json:"message"`
	Error    string `json:"error,omitempty"`
	// SignedProposalCid as boost computes it (cborutil.AsIpld(ClientDealProposal).Cid()).
	SignedProposalCid string `json:"signedProposalCid"`
	ProposalCid       string `json:"proposalCid"`
}

func sendDealProposal(ctx context.Context, h host.Host, id peer.ID, params wire.DealParams, protos ...protocol.ID) dealResult {
	spc, err := cborutil.AsIpld(&params.ClientDealProposal)
	must(err)
	pc, err := params.ClientDealProposal.Proposal.Cid()
	must(err)
	r := dealResult{DealUUID: params.DealUUID.String(), SignedProposalCid: spc.Cid().String(), ProposalCid: pc.String()}
	s, err := openStream(ctx, h, id, protos...)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer s.Close() // nolint
	r.Protocol = string(s.Protocol())
	_ = s.SetWriteDeadline(time.Now().Add(clientWriteDeadline))
	if err = cborutil.WriteCborRPC(s, &params); err != nil {
		r.Error = "sending deal proposal: " + err.Error()
		return r
	}
	_ = s.SetReadDeadline(time.Now().Add(clientReadDeadline))
	var resp wire.DealResponse
	if err := resp.UnmarshalCBOR(s); err != nil {
		r.Error = "reading proposal response: " + err.Error()
		return r
	}
	r.Accepted, r.Message = resp.Accepted, resp.Message
	return r
}

type statusResult struct {
	Error             string `json:"error"`
	DealUUID          string `json:"dealUuid"`
	IsOffline         bool   `json:"isOffline"`
	TransferSize      uint64 `json:"transferSize"`
	NBytesReceived    uint64 `json:"nBytesReceived"`
	Status            string `json:"status"`
	StatusError       string `json:"statusError"`
	SignedProposalCid string `json:"signedProposalCid"`
	PublishCid        any    `json:"publishCid"`
	ChainDealID       uint64 `json:"chainDealId"`
	// The proposal the provider sent back re-encoded by go-state-types equals what we signed.
	ProposalMatches bool   `json:"proposalMatches"`
	TransportError  string `json:"transportError,omitempty"`
}

func sendDealStatusRequest(ctx context.Context, h host.Host, id peer.ID, w wallet, dealUUID uuid.UUID, want *market.DealProposal) statusResult {
	uuidBytes, err := dealUUID.MarshalBinary()
	must(err)
	req := wire.DealStatusRequest{DealUUID: dealUUID, Signature: w.sign(uuidBytes)}
	var r statusResult
	s, err := openStream(ctx, h, id, statusProtocol)
	if err != nil {
		r.TransportError = err.Error()
		return r
	}
	defer s.Close() // nolint
	_ = s.SetWriteDeadline(time.Now().Add(clientWriteDeadline))
	if err = cborutil.WriteCborRPC(s, &req); err != nil {
		r.TransportError = err.Error()
		return r
	}
	_ = s.SetReadDeadline(time.Now().Add(clientReadDeadline))
	var resp wire.DealStatusResponse
	if err := resp.UnmarshalCBOR(s); err != nil {
		r.TransportError = "reading deal status response: " + err.Error()
		return r
	}
	r.Error, r.DealUUID, r.IsOffline, r.TransferSize, r.NBytesReceived = resp.Error, resp.DealUUID.String(), resp.IsOffline, resp.TransferSize, resp.NBytesReceived
	if resp.DealStatus != nil {
		ds := resp.DealStatus
		r.Status, r.StatusError, r.SignedProposalCid, r.ChainDealID = ds.Status, ds.Error, ds.SignedProposalCid.String(), uint64(ds.ChainDealID)
		if ds.PublishCid != nil {
			r.PublishCid = ds.PublishCid.String()
		}
		if want != nil {
			a, b := new(bytes.Buffer), new(bytes.Buffer)
			must(ds.Proposal.MarshalCBOR(a))
			must(want.MarshalCBOR(b))
			r.ProposalMatches = bytes.Equal(a.Bytes(), b.Bytes())
		}
	}
	return r
}

type askResult struct {
	Null           bool   `json:"null"`
	Miner          string `json:"miner"`
	Price          string `json:"price"`
	MinPieceSize   uint64 `json:"minPieceSize"`
	MaxPieceSize   uint64 `json:"maxPieceSize"`
	SeqNo          uint64 `json:"seqNo"`
	Signed         bool   `json:"signed"`
	TransportError string `json:"transportError,omitempty"`
}

func sendAsk(ctx context.Context, h host.Host, id peer.ID, miner address.Address) askResult {
	var r askResult
	s, err := openStream(ctx, h, id, askProtocol)
	if err != nil {
		r.TransportError = err.Error()
		return r
	}
	defer s.Close() // nolint
	_ = s.SetWriteDeadline(time.Now().Add(clientWriteDeadline))
	must(cborutil.WriteCborRPC(s, &wire.AskRequest{Miner: miner}))
	_ = s.SetReadDeadline(time.Now().Add(clientReadDeadline))
	var resp wire.AskResponse
	if err := resp.UnmarshalCBOR(s); err != nil {
		r.TransportError = err.Error()
		return r
	}
	if resp.Ask == nil || resp.Ask.Ask == nil {
		r.Null = true
		return r
	}
	a := resp.Ask.Ask
	r.Miner, r.Price, r.MinPieceSize, r.MaxPieceSize, r.SeqNo = a.Miner.String(), a.Price.String(), uint64(a.MinPieceSize), uint64(a.MaxPieceSize), a.SeqNo
	r.Signed = resp.Ask.Signature != nil
	return r
}

// signedProposal is a 2 KiB-piece, 180-day deal proposal signed by w, as `boost deal` builds one.
func signedProposal(w wallet, prov address.Address, piece, label string, start, collateral int64) market.ClientDealProposal {
	pc, err := cid.Parse(piece)
	must(err)
	l, err := market.NewLabelFromString(label)
	must(err)
	p := market.DealProposal{
		PieceCID: pc, PieceSize: abi.PaddedPieceSize(2048), VerifiedDeal: false, Client: w.addr, Provider: prov,
		Label: l, StartEpoch: abi.ChainEpoch(start), EndEpoch: abi.ChainEpoch(start + 518400),
		StoragePricePerEpoch: big.NewInt(1), ProviderCollateral: big.NewInt(collateral), ClientCollateral: big.Zero(),
	}
	buf, err := cborutil.Dump(&p)
	must(err)
	return market.ClientDealProposal{Proposal: p, ClientSignature: w.sign(buf)}
}

func main() {
	addr := flag.String("addr", "", "provider multiaddr with /p2p/<id>")
	keyFile := flag.String("key", "", "client wallet key (lotus wallet export)")
	providerFlag := flag.String("provider", "", "miner address")
	start := flag.Int64("start", 0, "start epoch")
	pieceA := flag.String("piece-online", "", "piece CID of the online deal")
	pieceB := flag.String("piece-offline", "", "piece CID of the offline deal")
	root := flag.String("root", "", "payload root CID")
	url := flag.String("url", "", "transfer URL of the online deal")
	collateral := flag.Int64("collateral", 0, "provider collateral")
	load := flag.Int("load", 0, "load mode with this many clients (load.go)")
	reconnect := flag.Bool("reconnect", false, "load mode: a new connection for every proposal, as `boost deal` makes")
	identities := flag.String("identities", "", "only connect from a host of each of these key types (ed25519,secp256k1,ecdsa,rsa) and ask; print what each got")
	flag.Parse()
	if *load > 0 {
		runLoad(*load, *addr, *providerFlag, *root, *url, *collateral, *reconnect)
		return
	}
	if *identities != "" {
		askFromIdentities(strings.Split(*identities, ","), *addr, *providerFlag)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport))
	must(err)
	defer h.Close() // nolint
	ai, err := peer.AddrInfoFromString(*addr)
	must(err)
	identified, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	must(err)
	defer identified.Close() // nolint
	must(h.Connect(ctx, *ai))
	w := loadKey(*keyFile)
	prov, err := address.NewFromString(*providerFlag)
	must(err)
	rootCid, err := cid.Parse(*root)
	must(err)

	proposal := func(piece string, label string) market.ClientDealProposal {
		return signedProposal(w, prov, piece, label, *start, *collateral)
	}
	paramsJSON, err := json.Marshal(struct {
		URL     string
		Headers map[string]string
	}{URL: *url, Headers: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p"))}})
	must(err)
	online := wire.DealParams{
		DealUUID: uuid.New(), IsOffline: false, ClientDealProposal: proposal(*pieceA, rootCid.String()), DealDataRoot: rootCid,
		Transfer: wire.Transfer{Type: "http", Params: paramsJSON, Size: 1900},
	}
	offline := wire.DealParams{
		DealUUID: uuid.New(), IsOffline: true, ClientDealProposal: proposal(*pieceB, "offline"), DealDataRoot: rootCid,
		RemoveUnsealedCopy: true, SkipIPNIAnnounce: true,
	}
	out := map[string]any{}
	protos, err := h.Peerstore().SupportsProtocols(ai.ID, dealProtocolv121, dealProtocolv120, statusProtocol, askProtocol)
	must(err)
	out["identifyProtocols"] = protos
	// identify's signed peer record as go-libp2p took it in: the event carries it only once its
	// signature, domain and peer were checked, and its addresses are then the peer's addresses.
	select {
	case e := <-identified.Out():
		ev := e.(event.EvtPeerIdentificationCompleted)
		if ev.SignedPeerRecord != nil {
			rec, err := ev.SignedPeerRecord.Record()
			must(err)
			addrs := []string{}
			for _, a := range rec.(*peer.PeerRecord).Addrs {
				addrs = append(addrs, a.String())
			}
			out["signedRecordAddrs"] = addrs
		}
	case <-time.After(10 * time.Second):
		panic("boostclient: no identify event")
	}
	peerAddrs := []string{}
	for _, a := range h.Peerstore().Addrs(ai.ID) {
		peerAddrs = append(peerAddrs, a.String())
	}
	out["peerstoreAddrs"] = peerAddrs
	out["online"] = sendDealProposal(ctx, h, ai.ID, online, dealProtocolv121, dealProtocolv120)
	// `boost deal` and `boost offline-deal` (v1.7 to v2.5.2, the newest) open mk/1.2.0 only and send the 7-key form.
	out["offline"] = sendDealProposal(ctx, h, ai.ID, offline, dealProtocolv120)
	out["duplicate"] = sendDealProposal(ctx, h, ai.ID, online, dealProtocolv121, dealProtocolv120)
	out["status"] = sendDealStatusRequest(ctx, h, ai.ID, w, online.DealUUID, &online.ClientDealProposal.Proposal)
	out["statusOffline"] = sendDealStatusRequest(ctx, h, ai.ID, w, offline.DealUUID, &offline.ClientDealProposal.Proposal)
	out["statusUnknown"] = sendDealStatusRequest(ctx, h, ai.ID, w, uuid.New(), nil)
	out["ask"] = sendAsk(ctx, h, ai.ID, prov)
	other, _ := address.NewIDAddress(424242)
	out["askOther"] = sendAsk(ctx, h, ai.ID, other)
	// `boost deal` is a process a deal: the next deal comes on a new connection, identified again.
	must(h.Network().ClosePeer(ai.ID))
	must(h.Connect(ctx, *ai))
	again := wire.DealParams{
		DealUUID: uuid.New(), IsOffline: false, ClientDealProposal: proposal(*pieceA, "on a new connection"), DealDataRoot: rootCid,
		Transfer: wire.Transfer{Type: "http", Params: paramsJSON, Size: 1900},
	}
	out["reconnected"] = sendDealProposal(ctx, h, ai.ID, again, dealProtocolv121, dealProtocolv120)
	enc := json.NewEncoder(os.Stdout)
	must(enc.Encode(out))
}

// askFromIdentities connects from a go-libp2p host of each key type (go-libp2p's identities: a
// client's peer ID may be any of them) and asks for the miner's ask on that connection.
func askFromIdentities(types []string, addr, miner string) {
	keyTypes := map[string]int{"ed25519": p2pcrypto.Ed25519, "secp256k1": p2pcrypto.Secp256k1, "ecdsa": p2pcrypto.ECDSA, "rsa": p2pcrypto.RSA}
	ai, err := peer.AddrInfoFromString(addr)
	must(err)
	prov, err := address.NewFromString(miner)
	must(err)
	out := map[string]any{}
	for _, t := range types {
		kt, ok := keyTypes[t]
		if !ok {
			panic("boostclient: unknown key type " + t)
		}
		sk, _, err := p2pcrypto.GenerateKeyPair(kt, 2048)
		must(err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		h, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.Transport(tcp.NewTCPTransport),
			libp2p.Security(noise.ID, noise.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport))
		must(err)
		r := map[string]any{"peerId": h.ID().String()}
		if err := h.Connect(ctx, *ai); err != nil {
			r["connectError"] = err.Error()
		} else {
			r["ask"] = sendAsk(ctx, h, ai.ID, prov)
		}
		out[t] = r
		_ = h.Close()
		cancel()
	}
	must(json.NewEncoder(os.Stdout).Encode(out))
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("boostclient: %v", err))
	}
}
