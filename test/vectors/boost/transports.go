package main

import (
	"bytes"
	"encoding/hex"

	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/bindnode"
	"github.com/multiformats/go-multiaddr"
)

// transportsSchema is boost's retrievalmarket/types/transports.ipldsch (boost@31acd663); boost
// encodes QueryResponse with bindnode over this schema and dagcbor.Encode, as done here.
const transportsSchema = `
type Multiaddr bytes
type Protocol struct {
  Name String
  Addresses [Multiaddr]
}
type QueryResponse struct {
  Protocols [Protocol]
}
`

type protocol struct {
	Name      string
	Addresses [][]byte
}

type queryResponse struct {
	Protocols []protocol
}

func transportsVectors() []vector {
	ts, err := ipldSchema(transportsSchema)
	must(err)
	mk := func(name string, qr queryResponse) vector {
		node := bindnode.Wrap(&qr, ts.TypeByName("QueryResponse"))
		var buf bytes.Buffer
		must(dagcbor.Encode(node.Representation(), &buf))
		var ps []any
		for _, p := range qr.Protocols {
			addrs := []any{}
			strs := []any{}
			for _, a := range p.Addresses {
				addrs = append(addrs, hex.EncodeToString(a))
				m, err := multiaddr.NewMultiaddrBytes(a)
				must(err)
				strs = append(strs, m.String())
			}
			ps = append(ps, obj{"name": p.Name, "addresses": addrs, "addressStrings": strs})
		}
		if ps == nil {
			ps = []any{}
		}
		return vector{Name: name, Type: "TransportsQueryResponse", Hex: hex.EncodeToString(buf.Bytes()), Value: obj{"protocols": ps}}
	}
	ma := func(s string) []byte {
		m, err := multiaddr.NewMultiaddr(s)
		must(err)
		return m.Bytes()
	}
	return []vector{
		mk("transports/libp2p-http-bitswap", queryResponse{Protocols: []protocol{
			{Name: "libp2p", Addresses: [][]byte{
				ma("/ip4/203.0.113.7/tcp/24001/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"),
				ma("/ip6/2001:db8::7/udp/24001/quic-v1/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"),
			}},
			{Name: "http", Addresses: [][]byte{ma("/dns/retrieval.example.org/tcp/443/https")}},
			{Name: "bitswap", Addresses: [][]byte{ma("/ip4/203.0.113.8/tcp/24002/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")}},
		}}),
		mk("transports/empty", queryResponse{Protocols: []protocol{}}),
	}
}
