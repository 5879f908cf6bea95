// Command lotus-peer is a test double for a Lotus full node (/rpc/v1) and a lotus-miner (/rpc/v0)
// built on the libraries Lotus itself serves its API with: go-jsonrpc with the permissioned proxies
// of lotus/api, lotus/lib/rpcenc for io.Reader params, and go-state-types for actor encodings. It
// simulates just enough chain for a deal engine: epochs on a timer, wallets, market escrow,
// PublishStorageDeals with real decoding and signature checks, f410 clients answering
// AuthenticateMessage (StateCall; authenticate.go), and a sealing pipeline.
//
//	lotus-peer [flags]            serve; prints one JSON "ready" line with URLs and tokens on stdout
//	lotus-peer fixtures <dir>     write JSON fixtures made by Lotus's own encoders (for TS unit tests)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-jsonrpc/auth"

	"github.com/filecoin-project/lotus/api"
	"github.com/filecoin-project/lotus/lib/rpcenc"
)

type readyLine struct {
	FullNode      endpointInfo `json:"fullNode"`
	Miner         endpointInfo `json:"miner"`
	ReadToken     string       `json:"readToken"`
	IntrospectURL string       `json:"introspectUrl"`
	AdminURL      string       `json:"adminUrl"`
	MinerAddress  string       `json:"minerAddress"`
	WorkerAddress string       `json:"workerAddress"`
	WorkerKey     string       `json:"workerKey"`
	OwnerAddress  string       `json:"ownerAddress"`
	APIInfo       struct {
		FullNode string `json:"FULLNODE_API_INFO"`
		Miner    string `json:"MINER_API_INFO"`
	} `json:"apiInfo"`
}

type endpointInfo struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "fixtures" {
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: lotus-peer fixtures <dir>")
			os.Exit(2)
		}
		if err := writeFixtures(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "fixtures:", err)
			os.Exit(1)
		}
		return
	}
	cfg := defaultConfig()
	fs := flag.NewFlagSet("lotus-peer", flag.ExitOnError)
	host := fs.String("host", "127.0.0.1", "listen address (loopback only makes sense: tokens are printed)")
	fullPort := fs.Int("full-port", 0, "full node port (0 = any free port)")
	minerPort := fs.Int("miner-port", 0, "miner port (0 = any free port)")
	fs.DurationVar(&cfg.BlockTime, "block-time", cfg.BlockTime, "time between epochs")
	fs.Int64Var((*int64)(&cfg.StartHeight), "start-height", int64(cfg.StartHeight), "height of the first tipset")
	fs.Uint64Var(&cfg.MinerID, "miner-id", cfg.MinerID, "ID of the simulated miner actor")
	fs.StringVar(&cfg.Network, "network", cfg.Network, "address prefix: testnet (t) or mainnet (f)")
	fs.UintVar(&cfg.NetworkVersion, "network-version", cfg.NetworkVersion, "StateNetworkVersion answer")
	fs.Int64Var((*int64)(&cfg.StartEpochSealingBuffer), "start-epoch-sealing-buffer", int64(cfg.StartEpochSealingBuffer), "lotus-miner's StartEpochSealingBuffer")
	fs.Int64Var((*int64)(&cfg.SealEpochsPerState), "seal-epochs-per-state", int64(cfg.SealEpochsPerState), "epochs a sector spends in each sealing state")
	fs.Int64Var((*int64)(&cfg.WaitDealsEpochs), "wait-deals-epochs", int64(cfg.WaitDealsEpochs), "epochs a sector waits for more deals before sealing")
	fs.StringVar(&cfg.SeedFile, "seed", "", "JSON seed file (same shape as POST /admin/seed)")
	fs.Int64Var(&cfg.RandSeed, "rand-seed", 1, "seed for injected error rates")
	exitOnStdin := fs.Bool("exit-on-stdin-close", false, "exit when stdin reaches EOF (so a dead parent leaves nothing behind)")
	_ = fs.Parse(os.Args[1:])

	switch cfg.Network {
	case "testnet":
		address.CurrentNetwork = address.Testnet
	case "mainnet":
		address.CurrentNetwork = address.Mainnet
	default:
		fmt.Fprintln(os.Stderr, "--network must be testnet or mainnet")
		os.Exit(2)
	}

	p, err := newPeer(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lotus-peer:", err)
		os.Exit(1)
	}
	if cfg.SeedFile != "" {
		b, err := os.ReadFile(cfg.SeedFile)
		if err == nil {
			var s seedRequest
			if err = json.Unmarshal(b, &s); err == nil {
				_, err = p.seed(s)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "lotus-peer: seed:", err)
			os.Exit(1)
		}
	}

	fullLn, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*fullPort)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lotus-peer:", err)
		os.Exit(1)
	}
	minerLn, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*minerPort)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lotus-peer:", err)
		os.Exit(1)
	}

	fullSrv := &http.Server{Handler: p.fullNodeMux(), ReadHeaderTimeout: 30 * time.Second}
	minerSrv := &http.Server{Handler: p.minerMux(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = fullSrv.Serve(fullLn) }()
	go func() { _ = minerSrv.Serve(minerLn) }()

	ctx, cancel := context.WithCancel(context.Background())
	go p.run(ctx)

	fullURL := "http://" + fullLn.Addr().String()
	minerURL := "http://" + minerLn.Addr().String()
	var rl readyLine
	rl.FullNode = endpointInfo{URL: fullURL + "/rpc/v1", Token: p.tokens.full}
	rl.Miner = endpointInfo{URL: minerURL + "/rpc/v0", Token: p.tokens.miner}
	rl.ReadToken = p.tokens.read
	rl.IntrospectURL = fullURL + "/introspect"
	rl.AdminURL = fullURL + "/admin"
	rl.MinerAddress = p.minerAddr.String()
	rl.WorkerAddress = p.workerID.String()
	rl.WorkerKey = p.workerKey.String()
	rl.OwnerAddress = p.ownerID.String()
	rl.APIInfo.FullNode = p.tokens.full + ":" + multiaddrOf(fullLn.Addr())
	rl.APIInfo.Miner = p.tokens.miner + ":" + multiaddrOf(minerLn.Addr())
	out, _ := json.Marshal(rl)
	fmt.Printf("ready %s\n", out)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if *exitOnStdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	_ = fullSrv.Shutdown(sctx)
	_ = minerSrv.Shutdown(sctx)
}

func multiaddrOf(a net.Addr) string {
	t := a.(*net.TCPAddr)
	return fmt.Sprintf("/ip4/%s/tcp/%d/http", t.IP.String(), t.Port)
}

// fullNodeMux wires the full node the way lotus/node/rpc.go does: the permissioned proxy of
// api.FullNodeStruct registered under "Filecoin" behind go-jsonrpc's auth handler, plus the test
// endpoints (admin, introspection) which take no token.
func (p *Peer) fullNodeMux() http.Handler {
	srv := jsonrpc.NewServer(jsonrpc.WithServerErrors(lotusErrors()))
	srv.Register("Filecoin", api.PermissionedFullAPI(p.fullNodeAPI()))
	srv.AliasMethod("rpc.discover", "Filecoin.Discover")
	ah := &auth.Handler{Verify: p.tokens.verify, Next: srv.ServeHTTP}
	mux := http.NewServeMux()
	mux.Handle("/rpc/v1", p.faults.middleware("full", ah, p))
	mux.Handle("/introspect", http.HandlerFunc(p.handleIntrospect))
	mux.Handle("/admin/", http.HandlerFunc(p.handleAdmin))
	return mux
}

// minerMux mirrors lotus-miner: /rpc/v0 with rpcenc's reader decoder, and rpcenc's push endpoint.
func (p *Peer) minerMux() http.Handler {
	readerHandler, readerDecoder := rpcenc.ReaderParamDecoder()
	srv := jsonrpc.NewServer(readerDecoder, jsonrpc.WithServerErrors(lotusErrors()))
	srv.Register("Filecoin", api.PermissionedStorMinerAPI(p.minerAPI()))
	ah := &auth.Handler{Verify: p.tokens.verify, Next: srv.ServeHTTP}
	mux := http.NewServeMux()
	mux.Handle("/rpc/v0", p.faults.middleware("miner", ah, p))
	mux.Handle("/rpc/streams/v0/push/", p.faults.middleware("miner", http.HandlerFunc(readerHandler), p))
	return mux
}

// lotusErrors is the error-code table lotus/api registers (EActorNotFound = 11, ...).
func lotusErrors() jsonrpc.Errors { return api.RPCErrors }
