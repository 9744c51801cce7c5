package collector

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenUDP opens one UDP socket on address with SO_REUSEPORT, so that
// several workers can share a port, and asks for a receive buffer of size
// bytes. It returns the socket and the size the kernel granted.
func listenUDP(ctx context.Context, address string, size int) (*net.UDPConn, int, error) {
	lc := net.ListenConfig{Control: func(network, addr string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				serr = fmt.Errorf("set SO_REUSEPORT: %w", serr)
				return
			}
			// SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN;
			// without it, fall back to SO_RCVBUF, which the kernel caps.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp", address)
	if err != nil {
		return nil, 0, fmt.Errorf("listen on %s: %w", address, err)
	}
	conn := pc.(*net.UDPConn)
	granted, err := receiveBuffer(conn)
	if err != nil {
		conn.Close()
		return nil, 0, err
	}
	return conn, granted, nil
}

// probe binds address once without SO_REUSEPORT and lets it go. SO_REUSEPORT
// would let a second collector join the port silently and take a share of
// the datagrams; the probe makes that an "address already in use" error.
// With port 0 it returns the port the kernel picked, for every worker.
func probe(address string) (string, error) {
	c, err := net.ListenPacket("udp", address)
	if err != nil {
		return "", fmt.Errorf("listen on %s (is another collector running?): %w", address, err)
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// spreadRandomly attaches to a SO_REUSEPORT group (through one of its
// sockets) a classic BPF program that sends each datagram to a random one
// of its n sockets, instead of the kernel's hash of the sender's address.
func spreadRandomly(conn *net.UDPConn, n int) error {
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: skfAdRandom}, // A = random
		{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: uint32(n)},  // A %= n
		{Code: unix.BPF_RET | unix.BPF_A},                               // socket A
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("attach the spreading program: %w", serr)
	}
	return nil
}

// The ancillary load of a random number in classic BPF (linux/filter.h).
const skfAdRandom = 0xfffff000 + 56 // SKF_AD_OFF + SKF_AD_RANDOM

// receiveBuffer reads back the buffer size; Linux reports twice what it
// accounts for payload, so it is halved to compare with what was asked.
func receiveBuffer(conn *net.UDPConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("read receive buffer: %w", err)
	}
	var n int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil {
		return 0, fmt.Errorf("read receive buffer: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("read receive buffer: %w", serr)
	}
	return n / 2, nil
}

// socketInode returns the inode of the socket, the key of its line in
// /proc/net/udp.
func socketInode(conn *net.UDPConn) (uint64, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var ino uint64
	var serr error
	if err := raw.Control(func(fd uintptr) {
		var st unix.Stat_t
		serr = unix.Fstat(int(fd), &st)
		ino = st.Ino
	}); err != nil {
		return 0, err
	}
	return ino, serr
}

// socketDrops reads the kernel's drop counters of every UDP socket, by
// inode, from /proc/net/udp and /proc/net/udp6.
func socketDrops() (map[uint64]uint64, error) {
	drops := make(map[uint64]uint64)
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("read socket drops: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
			fields := strings.Fields(sc.Text())
			if len(fields) < 13 {
				continue
			}
			ino, err1 := strconv.ParseUint(fields[9], 10, 64)
			d, err2 := strconv.ParseUint(fields[12], 10, 64)
			if err1 == nil && err2 == nil {
				drops[ino] = d
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return drops, nil
}
