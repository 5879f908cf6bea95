// stream-commp for the CommP benchmark and cross-checks: upstream go-fil-commp-hashhash's Calc fed
// from stdin through a 16 MiB buffered reader, as its cmd/stream-commp does (that command is a
// module of its own that the Go module proxy does not serve, so this is our few-line equivalent;
// all hashing is upstream code). Prints one JSON line: v1 and FRC-0069 v2 piece CIDs and sizes.
//
//	stream-commp [-pad <padded piece size>] < file
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"io"
	"log"
	"os"

	commcid "github.com/filecoin-project/go-fil-commcid"
	commp "github.com/filecoin-project/go-fil-commp-hashhash"
)

// bufSize matches cmd/stream-commp: 16 MiB of padded data, expressed in payload bytes.
const bufSize = (16 << 20) / 128 * 127

func main() {
	pad := flag.Uint64("pad", 0, "target padded piece size (power of two), larger than the natural one")
	flag.Parse()
	cp := new(commp.Calc)
	n, err := io.Copy(cp, bufio.NewReaderSize(os.Stdin, bufSize))
	if err != nil {
		log.Fatalf("read at offset %d: %s", n, err)
	}
	raw, padded, err := cp.Digest()
	if err != nil {
		log.Fatal(err)
	}
	if *pad > 0 && *pad != padded {
		if raw, err = commp.PadCommP(raw, padded, *pad); err != nil {
			log.Fatal(err)
		}
		padded = *pad
	}
	v1, err := commcid.DataCommitmentV1ToCID(raw)
	if err != nil {
		log.Fatal(err)
	}
	out := map[string]any{"pieceCid": v1.String(), "payloadSize": n, "paddedPieceSize": padded}
	if n >= 127 {
		if v2, err := commcid.DataCommitmentToPieceCidv2(raw, uint64(n)); err == nil {
			out["pieceCidV2"] = v2.String()
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		log.Fatal(err)
	}
}
