// Command carvectors writes golden CAR files and the CARv2 MultihashIndexSorted index go-car builds
// for each, so the TypeScript streaming indexer can be compared byte for byte with the reference.
//
//	go run . <out-dir>
//
// Every input is deterministic (seeded), so the fixtures only change when go-car does.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/filecoin-project/go-fil-commp-hashhash"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/index"
	"github.com/multiformats/go-multicodec"
	"github.com/multiformats/go-multihash"
)

type record struct {
	Cid    string `json:"cid"`
	Offset uint64 `json:"offset"`
	Size   uint64 `json:"size"`
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// mkBlock hashes data with the given multihash code (raw codec CID).
func mkBlock(data []byte, mh uint64, length int) blocks.Block {
	pre := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh, MhLength: length}
	c, err := pre.Sum(data)
	must(err)
	b, err := blocks.NewBlockWithCid(data, c)
	must(err)
	return b
}

// writeV1 writes a CARv1 with the blocks in order and returns its bytes and the reference records
// (offset of each section's length varint from byte 0, block data size).
func writeV1(bs []blocks.Block) ([]byte, []record) {
	var buf bytes.Buffer
	// The header is dag-cbor {"roots":[root],"version":1}, written by hand (go-car v0's writer pulls
	// in go-merkledag, which no longer builds against current go-ipld-format).
	root := append([]byte{0}, bs[0].Cid().Bytes()...)
	hdr := []byte{0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0xd8, 0x2a, 0x58, byte(len(root))}
	hdr = append(hdr, root...)
	hdr = append(hdr, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01)
	ld(&buf, hdr)
	var recs []record
	for _, b := range bs {
		off := uint64(buf.Len())
		ld(&buf, b.Cid().Bytes(), b.RawData())
		recs = append(recs, record{Cid: b.Cid().String(), Offset: off, Size: uint64(len(b.RawData()))})
	}
	return buf.Bytes(), recs
}

// ld writes one length-delimited CAR section: uvarint(total length) || parts.
func ld(w *bytes.Buffer, parts ...[]byte) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	w.Write(binary.AppendUvarint(nil, uint64(n)))
	for _, p := range parts {
		w.Write(p)
	}
}

func indexBytes(car []byte) []byte {
	idx, err := carv2.GenerateIndex(bytes.NewReader(car))
	must(err)
	var out bytes.Buffer
	_, err = index.WriteTo(idx, &out)
	must(err)
	return out.Bytes()
}

func wrapV2(v1 []byte) []byte {
	dir, err := os.MkdirTemp("", "carvectors")
	must(err)
	defer os.RemoveAll(dir)
	src, dst := filepath.Join(dir, "in.car"), filepath.Join(dir, "out.car")
	must(os.WriteFile(src, v1, 0o644))
	must(carv2.WrapV1File(src, dst))
	b, err := os.ReadFile(dst)
	must(err)
	return b
}

// commP computes the piece CID of data at its natural (smallest) padded size with
// go-fil-commp-hashhash, an oracle independent of the TypeScript/native hashers.
func commP(data []byte) (string, uint64) {
	cp := &commp.Calc{}
	_, err := cp.Write(data)
	must(err)
	raw, size, err := cp.Digest()
	must(err)
	c, err := commcidV1(raw)
	must(err)
	return c, size
}

func commcidV1(raw []byte) (string, error) {
	mh, err := multihash.Encode(raw, 0x1012) // sha2-256-trunc254-padded
	if err != nil {
		return "", err
	}
	return cid.NewCidV1(0xf101, mh).String(), nil // fil-commitment-unsealed
}

// carOfSize builds a CARv1 of exactly n bytes: random blocks, the last one sized to land on n.
func carOfSize(r *rand.Rand, n int) []byte {
	bs := []blocks.Block{mkBlock(randBytes(r, 100000), multihash.SHA2_256, -1)}
	for {
		car, _ := writeV1(bs)
		rest := n - len(car)
		if rest < 200000 {
			// The last section is uvarint(36+d) ‖ 36-byte CID ‖ d data bytes.
			for k := 1; k <= 3; k++ {
				d := rest - 36 - k
				if len(binary.AppendUvarint(nil, uint64(36+d))) == k {
					out, _ := writeV1(append(bs, mkBlock(randBytes(r, d), multihash.SHA2_256, -1)))
					if len(out) != n {
						panic("size arithmetic")
					}
					return out
				}
			}
			panic("cannot hit size")
		}
		bs = append(bs, mkBlock(randBytes(r, 100000), multihash.SHA2_256, -1))
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

func main() {
	out := os.Args[1]
	must(os.MkdirAll(out, 0o755))
	r := rand.New(rand.NewSource(42))
	type vec struct {
		name   string
		blocks []blocks.Block
	}
	var vecs []vec

	// small: a few sha2-256 blocks of varied sizes (1-byte and 2-byte length varints).
	var small []blocks.Block
	for _, n := range []int{1, 10, 100, 127, 128, 300, 1000} {
		small = append(small, mkBlock(randBytes(r, n), multihash.SHA2_256, -1))
	}
	vecs = append(vecs, vec{"small", small})

	// mixed: several hash codes and digest lengths, an identity CID (left out of the index by
	// default), and a duplicate block (indexed twice).
	mixed := []blocks.Block{
		mkBlock(randBytes(r, 200), multihash.SHA2_256, -1),
		mkBlock(randBytes(r, 50), multihash.BLAKE2B_MIN+31, -1), // blake2b-256 (0xb220)
		mkBlock(randBytes(r, 70), multihash.SHA2_512, -1),
		mkBlock([]byte("identity"), multihash.IDENTITY, -1),
		mkBlock(randBytes(r, 5000), multihash.SHA2_256, -1),
		mkBlock(randBytes(r, 33), multihash.SHA3_256, -1),
	}
	mixed = append(mixed, mixed[0])
	vecs = append(vecs, vec{"mixed", mixed})

	// large: 60 blocks up to 40 KiB (3-byte varints), ~1.2 MB total.
	var large []blocks.Block
	for i := 0; i < 60; i++ {
		large = append(large, mkBlock(randBytes(r, 1+r.Intn(40960)), multihash.SHA2_256, -1))
	}
	vecs = append(vecs, vec{"large", large})

	manifest := map[string]any{}
	for _, v := range vecs {
		car, recs := writeV1(v.blocks)
		must(os.WriteFile(filepath.Join(out, v.name+".car"), car, 0o644))
		must(os.WriteFile(filepath.Join(out, v.name+".car.idx"), indexBytes(car), 0o644))
		v2 := wrapV2(car)
		must(os.WriteFile(filepath.Join(out, v.name+".v2.car"), v2, 0o644))
		must(os.WriteFile(filepath.Join(out, v.name+".v2.car.idx"), indexBytes(v2), 0o644))
		manifest[v.name] = recs
	}
	// CARs just below, at and just above the 1 MiB piece boundary (unpadded 1040384 bytes), and
	// the commP of every CAR written here.
	pieces := map[string]map[string]any{}
	for _, n := range []int{1040383, 1040384, 1040385} {
		name := fmt.Sprintf("boundary-%d", n)
		car := carOfSize(r, n)
		must(os.WriteFile(filepath.Join(out, name+".car"), car, 0o644))
		must(os.WriteFile(filepath.Join(out, name+".car.idx"), indexBytes(car), 0o644))
	}
	entries, err := os.ReadDir(out)
	must(err)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".car" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		must(err)
		c, size := commP(data)
		pieces[e.Name()] = map[string]any{"pieceCid": c, "pieceSize": size, "payloadSize": len(data)}
	}
	pf, err := json.MarshalIndent(pieces, "", " ")
	must(err)
	must(os.WriteFile(filepath.Join(out, "pieces.json"), pf, 0o644))

	must(os.WriteFile(filepath.Join(out, "headers.json"), headerVerdicts(), 0o644))

	mf, err := json.MarshalIndent(manifest, "", " ")
	must(err)
	must(os.WriteFile(filepath.Join(out, "records.json"), mf, 0o644))
	fmt.Println("wrote", len(vecs), "vectors to", out)
	_ = multicodec.CarMultihashIndexSorted
}

// headerVerdicts answers, for CARv1 headers in loose or odd CBOR, whether go-car indexes a CAR
// that starts with each (followed by one raw block), and with what error if not.
func headerVerdicts() []byte {
	headers := []struct{ Note, Hex string }{
		{"canonical", "a265726f6f7473806776657273696f6e01"},
		{"version as a non-minimal 1-byte integer", "a265726f6f7473806776657273696f6e1801"},
		{"version as a non-minimal 8-byte integer", "a265726f6f7473806776657273696f6e1b0000000000000001"},
		{"indefinite-length map", "bf65726f6f7473806776657273696f6e01ff"},
		{"indefinite-length roots", "a265726f6f74739fff6776657273696f6e01"},
		{"version repeated", "a365726f6f7473806776657273696f6e016776657273696f6e01"},
		{"keys in the other order", "a26776657273696f6e0165726f6f747380"},
		{"no roots", "a16776657273696f6e01"},
		{"roots null", "a265726f6f7473f66776657273696f6e01"},
		{"a byte after the header map", "a265726f6f7473806776657273696f6e01ff"},
		{"version 2", "a265726f6f7473806776657273696f6e02"},
		{"no version", "a165726f6f747380"},
		{"a root that is an integer", "a265726f6f747381016776657273696f6e01"},
		{"version as a string", "a265726f6f7473806776657273696f6e6131"},
		{"an extra key", "a365726f6f7473806776657273696f6e0163666f6f01"},
		{"an array, not a map", "80"},
		{"roots a map", "a265726f6f7473a06776657273696f6e01"},
		{"an indefinite-length key", "a17f6776657273696f6eff01"},
		{"an indefinite-length key in two chunks", "a17f627665657273696f6eff01"},
		{"an indefinite-length key with a bytes chunk", "a17f4776657273696f6eff01"},
		{"a bytes key", "a1476776657273696f6e01"},
		{"tag 0 on the version", "a16776657273696f6ec001"},
		{"tag 42 on the version", "a16776657273696f6ed82a01"},
		{"two tags on the version", "a16776657273696f6ed82ad82a01"},
		{"tag 55799 on the whole map", "d9d9f7a16776657273696f6e01"},
		{"roots undefined", "a265726f6f7473f76776657273696f6e01"},
		{"version null", "a26776657273696f6ef665726f6f747380"},
		{"version 1.0 as a float", "a16776657273696f6ef93c00"},
		{"version true", "a16776657273696f6ef5"},
		{"version -1, then 1", "a26776657273696f6e206776657273696f6e01"},
		{"version as a negative integer of 2^64 (refmt wraps it to 0), then 1", "a26776657273696f6e3bffffffffffffffff6776657273696f6e01"},
		{"roots 1, then an empty list", "a365726f6f74730165726f6f7473806776657273696f6e01"},
		{"a root with tag 42", "a265726f6f747381d82a58250001711220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6776657273696f6e01"},
		{"a root without a tag", "a265726f6f74738158250001711220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6776657273696f6e01"},
		{"a root with tag 43", "a265726f6f747381d82b58250001711220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6776657273696f6e01"},
		{"a root null", "a265726f6f747381f66776657273696f6e01"},
		{"a root of empty bytes", "a265726f6f747381d82a406776657273696f6e01"},
		{"a root without the 0x00 prefix", "a265726f6f747381d82a582401711220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6776657273696f6e01"},
		{"a root whose CID has version 0 and a codec", "a265726f6f747381d82a58250000551220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6776657273696f6e01"},
		{"a root CIDv0 with a 33-byte digest", "a265726f6f747381d82a582400122100000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f6776657273696f6e01"},
		{"a root with a byte after its CID", "a265726f6f747381d82a58260001711220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f006776657273696f6e01"},
		{"a root in an indefinite-length byte string", "a265726f6f747381d82a5f4a00017112200001020304581b05060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fff6776657273696f6e01"},
		{"a simple value", "a16776657273696f6ee0"},
		{"a key Version", "a16756657273696f6e01"},
	}
	type verdict struct {
		Note    string `json:"note"`
		Header  string `json:"header"`
		Indexed bool   `json:"indexed"`
		Error   string `json:"error,omitempty"`
	}
	cidBytes := append([]byte{0x01, 0x55, 0x12, 0x20}, bytes.Repeat([]byte{9}, 32)...)
	var out []verdict
	for _, h := range headers {
		hdr, err := hex.DecodeString(h.Hex)
		must(err)
		var car bytes.Buffer
		ld(&car, hdr)
		ld(&car, cidBytes, []byte{1, 2, 3, 4})
		v := verdict{Note: h.Note, Header: h.Hex, Indexed: true}
		if _, err := carv2.GenerateIndex(bytes.NewReader(car.Bytes())); err != nil {
			v.Indexed, v.Error = false, err.Error()
		}
		out = append(out, v)
	}
	b, err := json.MarshalIndent(out, "", " ")
	must(err)
	return b
}
