package gcpres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidPortRange is wrapped by ParsePortRange's errors.
var ErrInvalidPortRange = errors.New("invalid port range")

// maxPort is the highest TCP/UDP port.
const maxPort = 65535

// AllPorts is what a firewall entry without ports covers.
var AllPorts = PortRange{From: 0, To: maxPort}

// ParsePortRange parses a firewall port as the Compute API writes it: a
// port ("22") or an inclusive range ("1000-2000"). Surrounding spaces are
// ignored; anything else (signs, lists, a reversed or out-of-range range)
// is an error wrapping ErrInvalidPortRange.
func ParsePortRange(s string) (PortRange, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err := parsePort(from)
	if err != nil {
		return PortRange{}, fmt.Errorf("%w %q: %w", ErrInvalidPortRange, s, err)
	}
	hi := lo
	if isRange {
		if hi, err = parsePort(to); err != nil {
			return PortRange{}, fmt.Errorf("%w %q: %w", ErrInvalidPortRange, s, err)
		}
		if lo > hi {
			return PortRange{}, fmt.Errorf("%w %q: %d is above %d", ErrInvalidPortRange, s, lo, hi)
		}
	}
	return PortRange{From: lo, To: hi}, nil
}

// ParsePorts parses an entry's ports; no ports means every port, which
// the API writes as an absent list.
func ParsePorts(ports []string) ([]PortRange, error) {
	if len(ports) == 0 {
		return []PortRange{AllPorts}, nil
	}
	out := make([]PortRange, 0, len(ports))
	for _, p := range ports {
		r, err := ParsePortRange(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// parsePort accepts decimal digits only: strconv alone would take "+22".
func parsePort(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a port", s)
		}
	}
	if len(s) > 5 {
		return 0, fmt.Errorf("%s is above %d", s, maxPort)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > maxPort {
		return 0, fmt.Errorf("%d is above %d", n, maxPort)
	}
	return n, nil
}

// IsInternet says whether a source range is the whole Internet: 0.0.0.0/0
// or ::/0 (spaces and the spelling of the IPv6 zero address aside).
func IsInternet(cidr string) bool {
	switch strings.TrimSpace(cidr) {
	case "0.0.0.0/0", "::/0", "0::/0", "0:0:0:0:0:0:0:0/0":
		return true
	}
	return false
}
