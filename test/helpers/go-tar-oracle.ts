/**
 * A small Go program of our own, built with the local Go toolchain (standard library only,
 * offline), that runs Go's real `archive/tar` the way podman and buildah run it: the oracle the
 * src/archive/go-tar*.ts cross-checks compare with. Modes (stdin → stdout):
 *
 * - headers: one JSON header per line → `OK <hex of WriteHeader's blocks>` or `ERR <message>`;
 * - archive: framed archives → framed results of buildah's ADD summary pipe (isArchivePath, then
 *   copier.Get's reader/writer, the item-counting tar filter, the digester's zero-time filter);
 * - summary: one JSON array of entries per line → the same pipe after copier.Get writes them;
 * - layer: one JSON object {entries, sde, timestamp} per line → storage's writer, then buildah's
 *   layer filter (times clamped).
 *
 * A frame is a status byte (0 ok, 1 error, 3 not an archive), an 8-byte big-endian length and
 * the payload (the bytes, or the error message).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GoTime, RawGoHeader } from '../../src/archive/go-tar.js';

// JSON keys match the exported field names case-insensitively (encoding/json), so no struct tags.
const GO_SOURCE = String.raw`package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

type jtime struct {
	Sec  string
	Nsec int64
}

type jheader struct {
	Typeflag int
	Name     string
	Linkname string
	Uname    string
	Gname    string
	Size     string
	Mode     string
	Uid      string
	Gid      string
	Devmajor string
	Devminor string
	Mtime    *jtime
	Atime    *jtime
	Ctime    *jtime
	Xattrs   [][2]string
	Pax      [][2]string
	Format   int
	Body     string
}

type jlayer struct {
	Entries   []jheader
	Sde       *int64
	Timestamp *int64
}

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func num(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func tm(t *jtime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(num(t.Sec), t.Nsec)
}

func header(j jheader) *tar.Header {
	h := &tar.Header{
		Typeflag: byte(j.Typeflag), Name: unhex(j.Name), Linkname: unhex(j.Linkname),
		Uname: unhex(j.Uname), Gname: unhex(j.Gname), Size: num(j.Size), Mode: num(j.Mode),
		Uid: int(num(j.Uid)), Gid: int(num(j.Gid)), Devmajor: num(j.Devmajor), Devminor: num(j.Devminor),
		ModTime: tm(j.Mtime), AccessTime: tm(j.Atime), ChangeTime: tm(j.Ctime), Format: tar.Format(j.Format),
	}
	if j.Xattrs != nil {
		h.Xattrs = map[string]string{}
		for _, kv := range j.Xattrs {
			h.Xattrs[unhex(kv[0])] = unhex(kv[1])
		}
	}
	if j.Pax != nil {
		h.PAXRecords = map[string]string{}
		for _, kv := range j.Pax {
			h.PAXRecords[unhex(kv[0])] = unhex(kv[1])
		}
	}
	return h
}

// buildah's newTarFilterer (digester.go), run to the end of its input.
func filter(in []byte, modify func(*tar.Header)) ([]byte, error) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	r := bytes.NewReader(in)
	for {
		tr := tar.NewReader(r)
		hdr, err := tr.Next()
		for err == nil {
			if modify != nil {
				modify(hdr)
			}
			if err = tw.WriteHeader(hdr); err != nil {
				return nil, fmt.Errorf("writing tar header for %q: %w", hdr.Name, err)
			}
			if hdr.Size != 0 {
				n, cerr := io.Copy(tw, tr)
				if cerr != nil {
					return nil, fmt.Errorf("copying content for %q: %w", hdr.Name, cerr)
				}
				if n != hdr.Size {
					return nil, fmt.Errorf("filtering content for %q: expected %d bytes, got %d bytes", hdr.Name, hdr.Size, n)
				}
			}
			if err = tw.Flush(); err != nil {
				return nil, err
			}
			hdr, err = tr.Next()
		}
		if !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading tar archive: %w", err)
		}
		if r.Len() == 0 {
			break
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func zeroTimes(h *tar.Header) {
	h.ModTime = time.Time{}
	h.AccessTime = time.Time{}
	h.ChangeTime = time.Time{}
}

// copier.Get with ExpandArchives (copierHandlerGetOne).
func copierGet(in []byte) ([]byte, error) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(in))
	hdr, err := tr.Next()
	for err == nil {
		if err = tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing tar header: %w", err)
		}
		if hdr.Size != 0 {
			n, cerr := io.Copy(tw, tr)
			if cerr != nil {
				return nil, fmt.Errorf("extracting content: %w", cerr)
			}
			if n != hdr.Size {
				return nil, fmt.Errorf("incorrect length for %q", hdr.Name)
			}
			tw.Flush()
		}
		hdr, err = tr.Next()
	}
	if err != io.EOF {
		return nil, fmt.Errorf("extracting contents of archive: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// copier.Get (truncate false) or containers/storage (maybeTruncateHeaderModTime) writing entries.
func writeEntries(entries []jheader, truncate bool) ([]byte, error) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, j := range entries {
		h := header(j)
		if truncate && h.Format == tar.FormatUnknown {
			h.ModTime = h.ModTime.Truncate(time.Second)
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if j.Body != "" {
			if _, err := tw.Write([]byte(unhex(j.Body))); err != nil {
				return nil, err
			}
		}
		if err := tw.Flush(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func summary(b1 []byte) ([]byte, error) {
	b2, err := filter(b1, nil)
	if err != nil {
		return nil, err
	}
	return filter(b2, zeroTimes)
}

func frame(w *bufio.Writer, status byte, payload []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(payload)))
	w.WriteByte(status)
	w.Write(n[:])
	w.Write(payload)
}

func result(w *bufio.Writer, b []byte, err error) {
	if err != nil {
		frame(w, 1, []byte(err.Error()))
	} else {
		frame(w, 0, b)
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	res := func(b []byte, err error) { result(w, b, err) }
	switch os.Args[1] {
	case "headers":
		sc := bufio.NewScanner(in)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var j jheader
			if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
				panic(err)
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			if err := tw.WriteHeader(header(j)); err != nil {
				fmt.Fprintf(w, "ERR %s\n", err)
				continue
			}
			b := buf.Bytes()
			if pad := len(b) % 512; pad != 0 {
				b = append(b, make([]byte, 512-pad)...)
			}
			fmt.Fprintf(w, "OK %s\n", hex.EncodeToString(b))
		}
	case "archive":
		for {
			var n [8]byte
			if _, err := io.ReadFull(in, n[:]); err != nil {
				return
			}
			data := make([]byte, binary.BigEndian.Uint64(n[:]))
			if _, err := io.ReadFull(in, data); err != nil {
				panic(err)
			}
			if _, err := tar.NewReader(bytes.NewReader(data)).Next(); err != nil {
				frame(w, 3, []byte(err.Error()))
				continue
			}
			b1, err := copierGet(data)
			if err != nil {
				result(w, nil, err)
				continue
			}
			res(summary(b1))
		}
	case "summary", "layer":
		sc := bufio.NewScanner(in)
		sc.Buffer(nil, 256<<20)
		for sc.Scan() {
			var l jlayer
			if os.Args[1] == "summary" {
				if err := json.Unmarshal(sc.Bytes(), &l.Entries); err != nil {
					panic(err)
				}
			} else if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				panic(err)
			}
			b1, err := writeEntries(l.Entries, os.Args[1] == "layer")
			if err != nil {
				result(w, nil, err)
				continue
			}
			if os.Args[1] == "summary" {
				res(summary(b1))
				continue
			}
			if l.Sde == nil && l.Timestamp == nil {
				result(w, b1, nil)
				continue
			}
			// buildah's makeFilteredLayerWriteCloser
			res(filter(b1, func(h *tar.Header) {
				modTime := h.ModTime
				if l.Timestamp != nil {
					modTime = time.Unix(*l.Timestamp, 0)
				}
				if l.Sde != nil && time.Unix(*l.Sde, 0).Before(modTime) {
					modTime = time.Unix(*l.Sde, 0)
				}
				if !h.ModTime.IsZero() {
					h.ModTime = modTime
				}
				if !h.AccessTime.IsZero() {
					h.AccessTime = modTime
				}
				if !h.ChangeTime.IsZero() {
					h.ChangeTime = modTime
				}
			}))
		}
	}
}
`;

export interface JsonHeader {
  typeflag: number;
  name: string;
  linkname: string;
  uname: string;
  gname: string;
  size: string;
  mode: string;
  uid: string;
  gid: string;
  devmajor: string;
  devminor: string;
  mtime: { sec: string; nsec: number } | null;
  atime: { sec: string; nsec: number } | null;
  ctime: { sec: string; nsec: number } | null;
  xattrs: [string, string][] | null;
  pax: [string, string][] | null;
  format: number;
  body?: string;
}

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const time = (t: GoTime): JsonHeader['mtime'] => (t.sec === -62135596800n && t.nsec === 0 ? null : { sec: t.sec.toString(), nsec: t.nsec });

/** A RawGoHeader as the oracle's JSON. */
export function toJson(h: RawGoHeader, body?: Buffer): JsonHeader {
  return {
    typeflag: h.typeflag, name: hex(h.name), linkname: hex(h.linkname), uname: hex(h.uname), gname: hex(h.gname),
    size: h.size.toString(), mode: h.mode.toString(), uid: h.uid.toString(), gid: h.gid.toString(),
    devmajor: h.devmajor.toString(), devminor: h.devminor.toString(),
    mtime: time(h.modTime), atime: time(h.accessTime), ctime: time(h.changeTime),
    xattrs: h.xattrs ? [...h.xattrs].map(([k, v]) => [hex(k), hex(v)]) : null,
    pax: h.paxRecords ? [...h.paxRecords].map(([k, v]) => [hex(k), hex(v)]) : null,
    format: h.format,
    ...(body && body.length > 0 ? { body: body.toString('hex') } : {}),
  };
}

export interface Frame {
  status: 'ok' | 'error' | 'not-archive';
  payload: Buffer;
}

export function frames(out: Buffer): Frame[] {
  const res: Frame[] = [];
  let pos = 0;
  while (pos < out.length) {
    const status = out[pos]!;
    const n = Number(out.readBigUInt64BE(pos + 1));
    res.push({ status: status === 0 ? 'ok' : status === 3 ? 'not-archive' : 'error', payload: out.subarray(pos + 9, pos + 9 + n) });
    pos += 9 + n;
  }
  return res;
}

export interface GoTarOracle {
  version: string;
  run(mode: 'headers' | 'archive' | 'summary' | 'layer', input: Buffer): Buffer;
  close(): void;
}

/**
 * Builds the oracle with `go` from PATH (or REPRO_GO) into a temporary directory: GOCACHE and
 * GOPATH there too, no network (GOPROXY=off, GOTOOLCHAIN=local).
 */
export function buildGoTarOracle(): GoTarOracle {
  const go = process.env['REPRO_GO'] ?? 'go';
  const v = spawnSync(go, ['version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) throw new Error('the Go toolchain is needed for this test: apt-get install golang-go');
  const dir = mkdtempSync(join(tmpdir(), 'go-tar-oracle-'));
  const env = {
    ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GOPROXY: 'off', GOTOOLCHAIN: 'local',
    GOFLAGS: '', GO111MODULE: 'off', CGO_ENABLED: '0',
  };
  writeFileSync(join(dir, 'main.go'), GO_SOURCE);
  const bin = join(dir, 'oracle');
  const b = spawnSync(go, ['build', '-o', bin, 'main.go'], { cwd: dir, env, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`go build failed: ${b.stderr}`);
  return {
    version: v.stdout.trim(),
    run(mode, input) {
      const r = spawnSync(bin, [mode], { input, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`oracle ${mode} failed: ${r.stderr.toString()}`);
      return r.stdout;
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
