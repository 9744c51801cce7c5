// Command replay records a flowgen stream once and replays it, byte for byte
// and paced, for scripts/bench-e2e.sh: every collector then receives the same
// datagrams from the same exporter addresses, and the sender costs far less
// CPU than generating them afresh, so the collectors face the rate asked for
// on a machine they share with the sender.
//
//	replay record -listen 127.0.0.1:PORT -out FILE
//	    records until SIGINT/SIGTERM, then drains its socket and prints the count
//	replay send -in FILE -target 127.0.0.1:PORT -seconds S
//	    sends every datagram from its recorded source address, spread evenly over S seconds
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The file: magic, the datagram count, then per datagram its IPv4 source
// address and port, its length and its bytes (big endian).
const magic = "LFRPLY01"

const entryHeader = 4 + 2 + 2

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "record":
		err = runRecord(os.Args[2:])
	case "send":
		err = runSend(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: replay record -listen ADDR -out FILE | replay send -in FILE -target ADDR -seconds S")
	os.Exit(2)
}

func runRecord(args []string) error {
	fs := flag.NewFlagSet("record", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "UDP address to record from")
	out := fs.String("out", "", "file to write")
	buffer := fs.Int("buffer", 64<<20, "receive buffer, bytes")
	_ = fs.Parse(args)
	if *out == "" {
		return errors.New("record: -out is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	conn, err := listenUDP(ctx, *listen, *buffer)
	if err != nil {
		return err
	}
	defer conn.Close()
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	defer f.Close()
	n, err := record(ctx, conn, f)
	if err != nil {
		return err
	}
	fmt.Printf("recorded=%d\n", n)
	return nil
}

// listenUDP binds address with a receive buffer large enough to hold what
// flowgen sends while the recorder writes (SO_RCVBUFFORCE as root).
func listenUDP(ctx context.Context, address string, size int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
			}
		})
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", address)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", address, err)
	}
	return pc.(*net.UDPConn), nil
}

// record writes every datagram read from conn to f until ctx ends and the
// socket is drained, and returns how many it wrote.
func record(ctx context.Context, conn *net.UDPConn, f *os.File) (uint64, error) {
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteString(magic + "\x00\x00\x00\x00\x00\x00\x00\x00"); err != nil {
		return 0, fmt.Errorf("write header: %w", err)
	}
	var n uint64
	buf := make([]byte, 65536)
	hdr := make([]byte, entryHeader)
	for {
		// Poll so that the end of ctx is noticed; once it has ended, a
		// quiet socket means everything sent has been read.
		wait := 100 * time.Millisecond
		if ctx.Err() != nil {
			wait = 300 * time.Millisecond
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		size, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if ctx.Err() != nil {
					break
				}
				continue
			}
			return n, fmt.Errorf("read: %w", err)
		}
		ip := src.Addr().Unmap()
		if !ip.Is4() {
			return n, fmt.Errorf("datagram from %s: only IPv4 sources are recorded", src)
		}
		a := ip.As4()
		copy(hdr, a[:])
		binary.BigEndian.PutUint16(hdr[4:], src.Port())
		binary.BigEndian.PutUint16(hdr[6:], uint16(size))
		if _, err := w.Write(hdr); err != nil {
			return n, fmt.Errorf("write: %w", err)
		}
		if _, err := w.Write(buf[:size]); err != nil {
			return n, fmt.Errorf("write: %w", err)
		}
		n++
	}
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("write: %w", err)
	}
	var count [8]byte
	binary.BigEndian.PutUint64(count[:], n)
	if _, err := f.WriteAt(count[:], int64(len(magic))); err != nil {
		return n, fmt.Errorf("write count: %w", err)
	}
	return n, nil
}

func runSend(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	in := fs.String("in", "", "recorded file")
	target := fs.String("target", "", "collector host:port")
	seconds := fs.Float64("seconds", 10, "spread the datagrams evenly over this many seconds")
	_ = fs.Parse(args)
	to, err := netip.ParseAddrPort(*target)
	if err != nil {
		return fmt.Errorf("send: -target: %w", err)
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("open recording: %w", err)
	}
	defer f.Close()
	res, err := send(bufio.NewReaderSize(f, 1<<20), to, time.Duration(*seconds*float64(time.Second)))
	if err != nil {
		return err
	}
	fmt.Printf("sent=%d errors=%d seconds=%.6f\n", res.sent, res.errors, res.elapsed.Seconds())
	return nil
}

type sendResult struct {
	sent, errors uint64
	elapsed      time.Duration
}

// send replays the recording in r to target over span. Each recorded source
// gets a socket of its own bound to that address (ephemeral port), so the
// collector sees the same exporters, each with one stable source port.
func send(r io.Reader, target netip.AddrPort, span time.Duration) (sendResult, error) {
	var res sendResult
	head := make([]byte, len(magic)+8)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(magic)]) != magic {
		return res, fmt.Errorf("not a recording (header %q): %v", head, err)
	}
	count := binary.BigEndian.Uint64(head[len(magic):])
	if count == 0 {
		return res, errors.New("empty recording")
	}
	step := span / time.Duration(count)

	conns := map[netip.AddrPort]*net.UDPConn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	hdr := make([]byte, entryHeader)
	buf := make([]byte, 65536)
	start := time.Now()
	for i := uint64(0); i < count; i++ {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return res, fmt.Errorf("datagram %d: %w", i, err)
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(hdr[:4])), binary.BigEndian.Uint16(hdr[4:]))
		size := int(binary.BigEndian.Uint16(hdr[6:]))
		if _, err := io.ReadFull(r, buf[:size]); err != nil {
			return res, fmt.Errorf("datagram %d: %w", i, err)
		}
		c := conns[src]
		if c == nil {
			var err error
			c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: src.Addr().AsSlice()})
			if err != nil {
				return res, fmt.Errorf("bind %s: %w", src.Addr(), err)
			}
			conns[src] = c
		}
		// Sleep only when at least a millisecond ahead: datagrams leave in
		// small bursts, and the sender does not spin.
		if ahead := time.Until(start.Add(time.Duration(i) * step)); ahead > time.Millisecond {
			time.Sleep(ahead)
		}
		if _, err := c.WriteToUDPAddrPort(buf[:size], target); err != nil {
			res.errors++
			continue
		}
		res.sent++
	}
	res.elapsed = time.Since(start)
	return res, nil
}
