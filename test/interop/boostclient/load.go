package main

// Load mode (`boostclient -load`): the ingress benchmark's clients. N go-libp2p hosts, one
// connection and one secp256k1 wallet each, send online proposals the way boost's DealClient
// does (sendDealProposal): in a wave every client sends K proposals one after the other, the next
// as soon as the last is answered, so N proposals are in flight until the wave drains. Driven
// over stdin/stdout, one JSON line each way:
//
//	out: {"wallets":[…addresses…]}                        after every host has connected
//	in:  {"start":<epoch>,"pieces":[…N×K piece CIDs…]}     a wave: proposals are built and signed now
//	out: {"ready":true}
//	in:  go
//	out: {"latenciesMs":[…],"accepted":n,"messages":{…}}   when every proposal of the wave has its answer
//
// Client i sends pieces i, N+i, 2N+i, …. Signing happens before "go", so a wave times only the
// network exchange, as the TS clients do.
//
// With -reconnect every proposal goes on a connection of its own, as `boost deal` sends it (one
// process per deal: Connect, which waits for identify, then the proposal; the process exits and
// its connection closes). The latency then includes the TCP, noise and identify exchange.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/dealyard/dealyard/test/interop/boostclient/wire"
	"github.com/filecoin-project/go-address"
	gocrypto "github.com/filecoin-project/go-crypto"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

type waveRequest struct {
	Start  int64    `json:"start"`
	Pieces []string `json:"pieces"`
}

type waveResult struct {
	LatenciesMs []float64      `json:"latenciesMs"`
	Accepted    int            `json:"accepted"`
	Messages    map[string]int `json:"messages"`
}

func runLoad(n int, addr, providerFlag, root, url string, collateral int64, reconnect bool) {
	ctx := context.Background()
	ai, err := peer.AddrInfoFromString(addr)
	must(err)
	prov, err := address.NewFromString(providerFlag)
	must(err)
	rootCid, err := cid.Parse(root)
	must(err)
	hosts := make([]host.Host, n)
	wallets := make([]wallet, n)
	addrs := make([]string, n)
	for i := range hosts {
		hosts[i], err = libp2p.New(libp2p.NoListenAddrs, libp2p.Transport(tcp.NewTCPTransport),
			libp2p.Security(noise.ID, noise.New), libp2p.Muxer(yamux.ID, yamux.DefaultTransport))
		must(err)
		must(hosts[i].Connect(ctx, *ai))
		sk := make([]byte, 32)
		_, err = rand.Read(sk)
		must(err)
		a, err := address.NewSecp256k1Address(gocrypto.PublicKey(sk))
		must(err)
		wallets[i] = wallet{sk: sk, addr: a}
		addrs[i] = a.String()
	}
	defer func() {
		for _, h := range hosts {
			_ = h.Close()
		}
	}()
	// identify has to finish on every connection: NewStream then names the protocol it knows the
	// provider speaks and writes the proposal without waiting for multistream's answer.
	for _, h := range hosts {
		for {
			if ps, _ := h.Peerstore().SupportsProtocols(ai.ID, dealProtocolv121); len(ps) > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if reconnect {
		for _, h := range hosts {
			_ = h.Network().ClosePeer(ai.ID)
		}
	}
	paramsJSON, err := json.Marshal(struct {
		URL     string
		Headers map[string]string
	}{URL: url, Headers: map[string]string{"Authorization": "Bearer bench"}})
	must(err)
	out := json.NewEncoder(os.Stdout)
	must(out.Encode(map[string]any{"wallets": addrs}))
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var req waveRequest
		must(json.Unmarshal(in.Bytes(), &req))
		if len(req.Pieces) == 0 || len(req.Pieces)%n != 0 {
			panic(fmt.Sprintf("boostclient: wave of %d pieces for %d clients (want a multiple)", len(req.Pieces), n))
		}
		params := make([]wire.DealParams, len(req.Pieces))
		for i := range params {
			params[i] = wire.DealParams{
				DealUUID: uuid.New(), ClientDealProposal: signedProposal(wallets[i%n], prov, req.Pieces[i], rootCid.String(), req.Start, collateral),
				DealDataRoot: rootCid, Transfer: wire.Transfer{Type: "http", Params: paramsJSON, Size: 1900},
			}
		}
		must(out.Encode(map[string]bool{"ready": true}))
		if !in.Scan() || in.Text() != "go" {
			panic("boostclient: expected go")
		}
		res := waveResult{LatenciesMs: make([]float64, len(params)), Messages: map[string]int{}}
		results := make([]dealResult, len(params))
		var wg sync.WaitGroup
		for i := range hosts {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for j := i; j < len(params); j += n {
					t0 := time.Now()
					if reconnect {
						if err := hosts[i].Connect(ctx, *ai); err != nil {
							results[j] = dealResult{Error: "connect: " + err.Error()}
							res.LatenciesMs[j] = float64(time.Since(t0).Microseconds()) / 1000
							continue
						}
					}
					results[j] = sendDealProposal(ctx, hosts[i], ai.ID, params[j], dealProtocolv121, dealProtocolv120)
					res.LatenciesMs[j] = float64(time.Since(t0).Microseconds()) / 1000
					if reconnect {
						// the next proposal is the next process: nothing of this connection is reused
						_ = hosts[i].Network().ClosePeer(ai.ID)
					}
				}
			}(i)
		}
		wg.Wait()
		for _, r := range results {
			switch {
			case r.Accepted:
				res.Accepted++
			case r.Error != "":
				res.Messages["error: "+r.Error]++
			default:
				res.Messages[r.Message]++
			}
		}
		must(out.Encode(res))
	}
}
