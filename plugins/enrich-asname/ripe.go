package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lastfluss/lastfluss/sdk"
)

// loadStats tells what a load read and what it skipped.
type loadStats struct {
	Entries   int       // entries read (an ASN given twice counts twice)
	Malformed int       // lines or objects skipped
	FirstBad  []badLine // the first maxBadLogged of them
}

// badLine is a skipped line: its number (or a PeeringDB object's index) and
// why.
type badLine struct {
	Line   int
	Reason string
}

const maxBadLogged = 10

func (s *loadStats) bad(line int, format string, args ...any) {
	s.Malformed++
	if len(s.FirstBad) < maxBadLogged {
		s.FirstBad = append(s.FirstBad, badLine{Line: line, Reason: fmt.Sprintf(format, args...)})
	}
}

// maxLine bounds a line of an AS names file; real lines are under 200 bytes.
const maxLine = 1 << 20

// loadRIPE reads a RIPE-style asnames file: one "<asn> <text>" a line, as
// RIPE NCC publishes it for all RIRs. Blank lines and lines starting with
// '#' are skipped silently; malformed lines are counted.
func loadRIPE(r io.Reader) (*table, loadStats, error) {
	var b tableBuilder
	var st loadStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !utf8.ValidString(line) {
			// Older copies of the file are Latin-1.
			line = latin1(sc.Bytes())
		}
		asn, info, kind := parseRIPELine(line)
		switch kind {
		case lineEntry:
			b.add(asn, info)
			st.Entries++
		case lineMalformed:
			st.bad(n, "%s: %q", info.Description, truncate(line, 80))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, st, fmt.Errorf("read: %w", err)
	}
	return b.build(), st, nil
}

type lineKind uint8

const (
	lineEntry lineKind = iota
	lineIgnored
	lineMalformed
)

// parseRIPELine parses one line of a RIPE-style asnames file. For a
// malformed line, info.Description says what is wrong.
//
//	13335 CLOUDFLARENET, US                    → CLOUDFLARENET, "", US
//	3320 DTAG Internet service provider operations, DE
//	                                           → DTAG, "Internet service provider operations", DE
//	1 LVLT-1 - Level 3 Parent, LLC, US         → LVLT-1, "Level 3 Parent, LLC", US
func parseRIPELine(line string) (uint32, sdk.ASInfo, lineKind) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return 0, sdk.ASInfo{}, lineIgnored
	}
	field, text := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		field, text = line[:i], line[i+1:]
	}
	num := field
	if len(num) > 2 && (num[:2] == "AS" || num[:2] == "as") {
		num = num[2:]
	}
	asn, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0, sdk.ASInfo{Description: "no AS number"}, lineMalformed
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, sdk.ASInfo{Description: "nothing after the AS number"}, lineMalformed
	}
	return uint32(asn), parseASText(text), lineEntry
}

// parseASText splits "<handle> [- ]<description>[, CC]", the text RIPE's
// file and Team Cymru's answers carry.
func parseASText(text string) sdk.ASInfo {
	var info sdk.ASInfo
	text = strings.TrimSpace(text)
	if i := strings.LastIndex(text, ", "); i >= 0 && isCountry(text[i+2:]) {
		info.Country = text[i+2:]
		text = strings.TrimSpace(text[:i])
	}
	// "-Reserved AS-", "-Private Use AS-": a name, not a handle.
	if len(text) > 2 && text[0] == '-' && text[len(text)-1] == '-' && text[1] != ' ' {
		info.Name = text
		return info
	}
	// AFRINIC's lines are "<org> - <org>": the organisation is both.
	if n := len(text); n >= 5 && (n-3)%2 == 0 {
		x := text[:(n-3)/2]
		if text[len(x):len(x)+3] == " - " && text[len(x)+3:] == x {
			info.Name, info.Description = x, x
			return info
		}
	}
	name, rest := text, ""
	if i := strings.IndexAny(text, " \t"); i >= 0 {
		name, rest = text[:i], text[i+1:]
	}
	if name == "-" { // "7901 - , NZ": no handle
		name, rest = "", text[1:]
	}
	info.Name = strings.TrimRight(name, ",")
	rest = strings.TrimSpace(rest)
	if rest == "-" {
		rest = ""
	} else if strings.HasPrefix(rest, "- ") {
		rest = strings.TrimSpace(rest[2:])
	}
	info.Description = rest
	return info
}

func isCountry(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// latin1 decodes ISO 8859-1.
func latin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}
