// Command chart turns benchstat's CSV output for the bench module into an
// SVG chart and a markdown table of ratios and targets for BENCHMARKS.md.
//
//	go tool benchstat -col /lib -format csv token.txt > token.csv
//	go tool benchstat -col /lib -format csv middleware.txt > middleware.csv
//	go tool benchstat -col /server -format csv load.txt > load.csv
//	go run ./cmd/chart -token token.csv -middleware middleware.csv -load load.csv \
//		-svg chart.svg -md ratios.md
//
// It reads only benchstat's medians (the value column of each table) and
// computes every ratio from them, so the figures match the benchstat
// tables printed beside them.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// table is one benchstat table: the median of every (row, column) for one
// unit. Rows are benchmark names without the -GOMAXPROCS suffix; columns
// are the values of the -col key (lib or server), in benchstat's order.
type table struct {
	unit    string
	columns []string
	median  map[string]map[string]float64 // row -> column -> median
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// readTables parses benchstat -format csv output: tables, each with a row
// of column names, a row of units, then one row per benchmark and a
// geomean row.
func readTables(path string) ([]*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var (
		tables []*table
		cur    *table
		names  []string // column name at each CSV index, "" for CI, vs base, P
	)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case len(rec) <= 1:
			cur = nil // a header line such as "goos: linux"
		case rec[0] == "" && (cur == nil || cur.unit != ""):
			// A row of column names starts a table (csv.Reader skips
			// the blank lines between tables).
			names = make([]string, len(rec))
			cur = &table{median: map[string]map[string]float64{}}
			for i, c := range rec {
				if i > 0 && c != "" {
					names[i] = c
					cur.columns = append(cur.columns, c)
				}
			}
		case rec[0] == "":
			cur.unit = rec[1]
			tables = append(tables, cur)
		case cur != nil && rec[0] != "geomean":
			row := procSuffix.ReplaceAllString(rec[0], "")
			cur.median[row] = map[string]float64{}
			for i, c := range rec {
				if i == 0 || i >= len(names) || names[i] == "" || c == "" {
					continue
				}
				v, err := strconv.ParseFloat(c, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: row %q column %q: %v", path, row, names[i], err)
				}
				cur.median[row][names[i]] = v
			}
		}
	}
	return tables, nil
}

func find(tables []*table, unit string) *table {
	for _, t := range tables {
		if t.unit == unit {
			return t
		}
	}
	return nil
}

// get returns the median of row and column, and whether there is one.
func (t *table) get(row, col string) (float64, bool) {
	if t == nil {
		return 0, false
	}
	v, ok := t.median[row][col]
	return v, ok
}

// panel is one group of bars: one benchmark row, each column a bar.
type panel struct {
	title string
	unit  string // "µs" or "req/s"
	bars  []bar
	base  float64 // satchel's (or bare's) value, for the ratio labels
	lower bool    // lower is better
}

type bar struct {
	name  string
	value float64
}

func timePanel(t *table, row, title string, skip ...string) panel {
	p := panel{title: title, unit: "µs", lower: true}
	for _, c := range t.columns {
		if slices.Contains(skip, c) {
			continue
		}
		if v, ok := t.get(row, c); ok {
			p.bars = append(p.bars, bar{c, v * 1e6})
		}
	}
	if len(p.bars) > 0 {
		p.base = p.bars[0].value
	}
	return p
}

var colors = map[string]string{
	"satchel": "#1f77b4", "satchel+decode": "#6baed6", "paseto": "#ff7f0e",
	"securecookie-gob": "#2ca02c", "securecookie-json": "#98df8a", "jwe": "#9467bd",
	"floor": "#7f7f7f", "gorilla": "#2ca02c", "bare": "#7f7f7f", "satchel-raw": "#aec7e8",
}

// payloads are the fixtures in table order: the base ones, then the typed
// variants of typical and large.
var payloads = []string{"small", "typical", "large", "typical-struct", "typical-maps", "large-struct", "large-maps"}

// grid lays the token panels out three to a row: the base payloads, then
// each typed form under its base (a blank slot under small, which has no
// cart).
var grid = [][]string{
	{"small", "typical", "large"},
	{"", "typical-struct", "large-struct"},
	{"", "typical-maps", "large-maps"},
}

// writeSVG draws the panels in a grid of cols columns.
func writeSVG(w io.Writer, heading string, panels []panel, cols int) {
	const (
		pw, barH, gap, left, top = 330, 16, 4, 118, 26
	)
	ph := func(p panel) int { return top + len(p.bars)*(barH+gap) + 14 }
	// Each grid row is as tall as its tallest panel.
	rows := (len(panels) + cols - 1) / cols
	rowY := make([]int, rows+1)
	rowY[0] = 50
	for r := 0; r < rows; r++ {
		h := 0
		for _, p := range panels[r*cols : min(len(panels), (r+1)*cols)] {
			h = max(h, ph(p))
		}
		rowY[r+1] = rowY[r] + h
	}
	width, height := cols*pw+20, rowY[rows]+10
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(heading))
	fmt.Fprintf(w, `<text x="10" y="40" fill="#555">Medians of one run (benchstat). Bars are scaled within each panel; the label gives the value and, in brackets, the ratio to satchel (times slower for µs, share of bare for req/s).</text>`+"\n")
	for i, p := range panels {
		if p.title == "" {
			continue // a blank slot in the grid
		}
		x0, y0 := 10+(i%cols)*pw, rowY[i/cols]
		fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, y0+16, html.EscapeString(p.title))
		peak := 0.0
		for _, b := range p.bars {
			peak = max(peak, b.value)
		}
		for j, b := range p.bars {
			y := y0 + top + j*(barH+gap)
			bw := 0.0
			if peak > 0 {
				bw = b.value / peak * float64(pw-left-90)
			}
			color := colors[b.name]
			if color == "" {
				color = "#bbbbbb"
			}
			fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", x0+left-4, y+12, html.EscapeString(b.name))
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0+left, y, bw, barH, color)
			label := formatValue(b.value, p.unit)
			if p.base > 0 && j > 0 {
				if p.lower {
					label += fmt.Sprintf(" (%.2f×)", b.value/p.base)
				} else {
					label += fmt.Sprintf(" (%.0f%%)", 100*b.value/p.base)
				}
			}
			fmt.Fprintf(w, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(x0+left)+bw+4, y+12, html.EscapeString(label))
		}
	}
	fmt.Fprintln(w, `</svg>`)
}

func formatValue(v float64, unit string) string {
	if unit == "µs" {
		if v >= 100 {
			return fmt.Sprintf("%.0f µs", v)
		}
		return fmt.Sprintf("%.1f µs", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

// target is one line of the targets table.
type target struct {
	what, rule string
	got        float64
	ok         bool
	have       bool
}

func main() {
	tokenCSV := flag.String("token", "", "benchstat CSV of BenchmarkSeal and BenchmarkOpen (-col /lib)")
	mwCSV := flag.String("middleware", "", "benchstat CSV of BenchmarkMiddleware (-col /lib)")
	loadCSV := flag.String("load", "", "benchstat CSV of BenchmarkLoad (-col /server)")
	svgPath := flag.String("svg", "chart.svg", "SVG output")
	mdPath := flag.String("md", "ratios.md", "markdown output (ratios and targets)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("chart: ")

	load := func(path string) []*table {
		if path == "" {
			return nil
		}
		t, err := readTables(path)
		if err != nil {
			log.Fatal(err)
		}
		return t
	}
	loadTables := load(*loadCSV)
	tok, mw, ld := find(load(*tokenCSV), "sec/op"), find(load(*mwCSV), "sec/op"), find(loadTables, "req/s")
	cpu := find(loadTables, "cpu-us/req")
	if tok == nil {
		log.Fatal("no sec/op table in -token")
	}

	var panels []panel
	for _, op := range []string{"Seal", "Open"} {
		for _, row := range grid {
			for _, p := range row {
				if p == "" {
					panels = append(panels, panel{})
					continue
				}
				panels = append(panels, timePanel(tok, op+"/p="+p, op+", "+p+" payload"))
			}
		}
	}
	for _, op := range []string{"full", "read"} {
		if mw == nil {
			break
		}
		for _, p := range grid[0] {
			title := map[string]string{"full": "Full request", "read": "Read-only request"}[op]
			panels = append(panels, timePanel(mw, "Middleware/op="+op+"/p="+p, title+", "+p))
		}
	}
	if ld != nil {
		for _, kind := range []string{"read", "write"} {
			p := panel{title: "Loopback load, " + kind + " requests", unit: "req/s"}
			for _, c := range ld.columns {
				if v, ok := ld.get("Load/kind="+kind, c); ok {
					p.bars = append(p.bars, bar{c, v})
				}
			}
			if len(p.bars) > 0 {
				p.base = p.bars[0].value // bare is first
			}
			panels = append(panels, p)
		}
	}
	if cpu != nil {
		// Capacity: bare's CPU per request over the stack's, shown as
		// requests per CPU-second so that longer is better.
		for _, kind := range []string{"read", "write"} {
			p := panel{title: "CPU capacity, " + kind + " (req per CPU-s)", unit: "req/CPU-s"}
			for _, c := range cpu.columns {
				if v, ok := cpu.get("Load/kind="+kind, c); ok && v > 0 {
					p.bars = append(p.bars, bar{c, 1e6 / v})
				}
			}
			if len(p.bars) > 0 {
				p.base = p.bars[0].value
			}
			panels = append(panels, p)
		}
	}

	svg, err := os.Create(*svgPath)
	if err != nil {
		log.Fatal(err)
	}
	writeSVG(svg, "satchel vs peers: time per operation (shorter is better) and load (longer is better)", panels, 3)
	if err := svg.Close(); err != nil {
		log.Fatal(err)
	}

	md, err := os.Create(*mdPath)
	if err != nil {
		log.Fatal(err)
	}
	writeMarkdown(md, tok, mw, ld, cpu)
	if err := md.Close(); err != nil {
		log.Fatal(err)
	}
}

// writeMarkdown writes the ratio tables and the targets.
func writeMarkdown(w io.Writer, tok, mw, ld, cpu *table) {
	fmt.Fprintln(w, "### Ratios (peer median / satchel median; above 1 means satchel is faster)")
	fmt.Fprintln(w)
	ratioTable(w, tok, []string{"Seal", "Open"}, "satchel")
	if mw != nil {
		ratioTable(w, mw, []string{"Middleware/op=full", "Middleware/op=read"}, "satchel")
	}

	fmt.Fprintln(w, "### satchel over the floor (satchel median / floor median: the v4.local primitives alone on the same plaintext)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| payload | Seal | Open | Open+decode |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, p := range payloads {
		var cells []string
		for _, c := range []struct{ op, lib string }{{"Seal", "satchel"}, {"Open", "satchel"}, {"Open", "satchel+decode"}} {
			s, ok1 := tok.get(c.op+"/p="+p, c.lib)
			f, ok2 := tok.get(c.op+"/p="+p, "floor")
			if ok1 && ok2 && f > 0 {
				cells = append(cells, fmt.Sprintf("%.2f×", s/f))
			} else {
				cells = append(cells, "")
			}
		}
		fmt.Fprintf(w, "| %s | %s |\n", p, strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)

	var ts []target
	ratio := func(t *table, row, peer, base string) (float64, bool) {
		p, ok1 := t.get(row, peer)
		s, ok2 := t.get(row, base)
		if !ok1 || !ok2 || s == 0 {
			return 0, false
		}
		return p / s, true
	}
	for _, op := range []string{"Seal", "Open"} {
		row := op + "/p=typical"
		worst, have := 1e9, false
		for _, c := range tok.columns {
			if c == "satchel" || c == "satchel+decode" || c == "floor" {
				continue
			}
			if r, ok := ratio(tok, row, c, "satchel"); ok {
				worst, have = min(worst, r), true
			}
		}
		ts = append(ts, target{what: op + ", typical: faster than every peer", rule: "slowest-gap peer/satchel > 1", got: worst, ok: worst > 1, have: have})
		r, ok := ratio(tok, row, "paseto", "satchel")
		ts = append(ts, target{what: op + ", typical: vs go-paseto", rule: "paseto/satchel >= 2", got: r, ok: r >= 2, have: ok})
	}
	if mw != nil {
		r, ok := ratio(mw, "Middleware/op=full/p=typical", "gorilla", "satchel")
		ts = append(ts, target{what: "full middleware request, typical: vs gorilla/sessions", rule: "gorilla/satchel >= 3", got: r, ok: r >= 3, have: ok})
	}
	for _, op := range []string{"Seal", "Open"} {
		r, ok := ratio(tok, op+"/p=large", "satchel", "jwe")
		ts = append(ts, target{what: op + ", large: vs JWE", rule: "satchel/jwe <= 1.2", got: r, ok: r <= 1.2, have: ok})
	}
	// Typed values (issue 13).
	for _, p := range []string{"typical-struct", "typical-maps", "large-struct", "large-maps"} {
		r, ok := ratio(tok, "Seal/p="+p, "satchel", "satchel-raw")
		ts = append(ts, target{what: "Seal, " + p + ": typed values vs the same values as raw JSON", rule: "satchel/satchel-raw <= 1.3", got: r, ok: r <= 1.3, have: ok})
	}
	for _, p := range payloads {
		r, ok := ratio(tok, "Seal/p="+p, "jwe", "satchel")
		ts = append(ts, target{what: "Seal, " + p + ": vs go-jose JWE", rule: "jwe/satchel > 1", got: r, ok: r > 1, have: ok})
	}
	for _, p := range []string{"typical", "typical-struct", "typical-maps"} {
		r, ok := ratio(tok, "Seal/p="+p, "securecookie-json", "satchel")
		ts = append(ts, target{what: "Seal, " + p + ": vs securecookie-json", rule: "securecookie-json/satchel >= 1.5", got: r, ok: r >= 1.5, have: ok})
		r, ok = ratio(tok, "Open/p="+p, "securecookie-json", "satchel+decode")
		ts = append(ts, target{what: "Open and decode every value, " + p + ": vs securecookie-json", rule: "securecookie-json/satchel+decode >= 1.5", got: r, ok: r >= 1.5, have: ok})
	}
	{
		r, ok := ratio(tok, "Seal/p=small", "satchel", "securecookie-json")
		ts = append(ts, target{what: "Seal, small: vs securecookie-json", rule: "satchel/securecookie-json <= 1.1", got: r, ok: r <= 1.1, have: ok})
	}
	if ld != nil {
		for _, c := range []struct {
			kind string
			min  float64
		}{{"read", 0.9}, {"write", 0.8}} {
			r, ok := ratio(ld, "Load/kind="+c.kind, "satchel", "bare")
			ts = append(ts, target{what: "load, " + c.kind + " requests: satchel req/s / bare req/s", rule: fmt.Sprintf(">= %.2f", c.min), got: r, ok: r >= c.min, have: ok})
			if cpu != nil {
				// bare's CPU per request over satchel's: the req/s share on
				// a dedicated machine, whatever else runs on this one.
				r, ok := ratio(cpu, "Load/kind="+c.kind, "bare", "satchel")
				ts = append(ts, target{what: "load, " + c.kind + " requests, CPU-based: bare cpu-us/req / satchel cpu-us/req", rule: fmt.Sprintf(">= %.2f", c.min), got: r, ok: r >= c.min, have: ok})
			}
		}
	}
	fmt.Fprintln(w, "### Targets")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | rule | this run | met |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, t := range ts {
		got, met := "n/a", "not measured"
		if t.have {
			got = fmt.Sprintf("%.2f", t.got)
			met = map[bool]string{true: "yes", false: "**no**"}[t.ok]
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.what, t.rule, got, met)
	}
	fmt.Fprintln(w)
	if ld != nil {
		writeLoadTable(w, ld, "### Loopback load (req/s medians; share of the bare server)",
			func(v, bare float64) string { return fmt.Sprintf("%.0f (%.0f%%)", v, 100*v/bare) })
	}
	if cpu != nil {
		writeLoadTable(w, cpu, "### Loopback load, CPU per request (cpu-us/req medians, client and server together; capacity share = bare / stack)",
			func(v, bare float64) string { return fmt.Sprintf("%.1f (%.0f%%)", v, 100*bare/v) })
	}
}

// writeLoadTable writes one row per load kind of t under heading, each
// cell formatted by cell from the column's median and bare's.
func writeLoadTable(w io.Writer, t *table, heading string, cell func(v, bare float64) string) {
	fmt.Fprintln(w, heading)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| kind | %s |\n", strings.Join(t.columns, " | "))
	fmt.Fprintf(w, "|---%s|\n", strings.Repeat("|---", len(t.columns)))
	for _, kind := range []string{"read", "write"} {
		var cells []string
		bare, _ := t.get("Load/kind="+kind, "bare")
		for _, c := range t.columns {
			v, _ := t.get("Load/kind="+kind, c)
			cells = append(cells, cell(v, bare))
		}
		fmt.Fprintf(w, "| %s | %s |\n", kind, strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
}

// ratioTable writes one markdown table per prefix: rows are payloads,
// columns every other column's median divided by base's.
func ratioTable(w io.Writer, t *table, prefixes []string, base string) {
	for _, prefix := range prefixes {
		var rows []string
		for row := range t.median {
			if strings.HasPrefix(row, prefix+"/p=") {
				rows = append(rows, row)
			}
		}
		sort.Slice(rows, func(i, j int) bool {
			return slices.Index(payloads, rows[i][strings.LastIndex(rows[i], "=")+1:]) < slices.Index(payloads, rows[j][strings.LastIndex(rows[j], "=")+1:])
		})
		fmt.Fprintf(w, "%s (satchel median, then peer/satchel):\n\n", prefix)
		fmt.Fprintf(w, "| payload | %s |\n", strings.Join(t.columns, " | "))
		fmt.Fprintf(w, "|---%s|\n", strings.Repeat("|---", len(t.columns)))
		for _, row := range rows {
			b, _ := t.get(row, base)
			cells := []string{}
			for _, c := range t.columns {
				v, ok := t.get(row, c)
				switch {
				case !ok:
					cells = append(cells, "")
				case c == base:
					cells = append(cells, formatValue(v*1e6, "µs"))
				default:
					cells = append(cells, fmt.Sprintf("%.2f×", v/b))
				}
			}
			fmt.Fprintf(w, "| %s | %s |\n", row[strings.LastIndex(row, "=")+1:], strings.Join(cells, " | "))
		}
		fmt.Fprintln(w)
	}
}
